/** A marker's move from one fix to the next, drawn over time instead of as a jump. */
export interface Glide {
  from: [number, number]
  to: [number, number]
  start: number
  duration: number
}

/** Longer gaps than this between fixes are jumps: a glide would invent a route the vehicle never drove. */
export const MAX_GLIDE_GAP_MS = 60_000
export const GLIDE_MS = 900

/** Where a marker showing `current` should go for a new fix at `to`, starting `now`. */
export function planGlide (current: [number, number] | undefined, to: [number, number], fixGapMs: number, now: number): Glide {
  const glides = current !== undefined && fixGapMs > 0 && fixGapMs <= MAX_GLIDE_GAP_MS
  return { from: glides ? current : to, to, start: now, duration: glides ? Math.min(GLIDE_MS, fixGapMs) : 0 }
}

/** [lon, lat] at `now`: linear, the short way across the antimeridian, clamped to the ends. */
export function glideAt (glide: Glide, now: number): [number, number] {
  const t = glide.duration === 0 ? 1 : Math.min(1, Math.max(0, (now - glide.start) / glide.duration))
  if (t === 1) return glide.to
  let dLon = glide.to[0] - glide.from[0]
  if (dLon > 180) dLon -= 360
  if (dLon < -180) dLon += 360
  let lon = glide.from[0] + dLon * t
  if (lon > 180) lon -= 360
  if (lon < -180) lon += 360
  return [lon, glide.from[1] + (glide.to[1] - glide.from[1]) * t]
}

export function glideDone (glide: Glide, now: number): boolean {
  return now >= glide.start + glide.duration
}
