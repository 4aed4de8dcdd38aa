import { distanceM, distanceToRingM, METRES_PER_DEGREE, pointInRing, type LatLon, type Ring } from './geo.js'

/**
 * Geofence entries and exits from a vehicle's GPS fixes. Pure: no clock, no I/O; the caller keeps
 * each vehicle's state and passes it back with the next fix.
 *
 * GPS wanders by tens of metres, so a fence has a hysteresis band outside its edge where a fix
 * proves nothing, and a change of side counts only once it has held for `minDwellMs`, dated to the
 * first fix that showed it.
 */

export interface Geofence {
  id: string
  shape: { type: 'circle', lat: number, lon: number, radiusM: number } | { type: 'polygon', ring: Ring }
}

export interface GeofenceConfig {
  /** How far beyond the edge a fix must lie to count as outside. */
  hysteresisM: number
  /** How long a change of side must hold before it is reported. */
  minDwellMs: number
  /** Fixes reporting a worse accuracy radius than this are ignored. */
  maxAccuracyM: number
}

export interface GeofenceFix extends LatLon {
  time: number
  /** The receiver's accuracy radius in metres, when it reports one. */
  accuracy?: number
}

/** A fence the vehicle is inside of, or pending on. Fences absent from the state are outside and settled. */
export interface FenceMembership {
  fenceId: string
  inside: boolean
  /** A change of side not yet confirmed: always to the opposite of `inside`. */
  pending: { inside: boolean, since: number } | null
}

export interface VehicleFenceState {
  /** The time of the last fix this state has taken into account; older fixes are ignored. */
  lastTime: number
  /** Kept as a short list: a vehicle is rarely near more than two or three fences at once. */
  fences: readonly FenceMembership[]
}

export interface FenceTransition {
  fenceId: string
  kind: 'enter' | 'exit'
  time: number
}

export interface FenceStep<S = VehicleFenceState> {
  state: S
  transitions: readonly FenceTransition[]
}

export interface CompiledFence {
  id: string
  shape: Geofence['shape']
  /** A box around the fence, grown by the hysteresis and NEAR_M: a fix outside it is far outside the fence. */
  minLat: number
  maxLat: number
  minLon: number
  maxLon: number
}

export interface CompiledFences {
  list: readonly CompiledFence[]
  byId: ReadonlyMap<string, CompiledFence>
  /** The hysteresis the boxes were grown by. */
  hysteresisM: number
}

type Zone = 'inside' | 'band' | 'outside'

/**
 * How far from a fence (beyond its band) a fix still counts as near it. A fix near no fence, of a
 * vehicle settled outside all, leaves the state untouched, `lastTime` included; so a late fix can
 * slip past the out-of-order guard only if a fix after it was this far from every fence.
 */
export const NEAR_M = 1000

/** Shared so that the common case, a fix that changes nothing, allocates nothing. */
const NO_TRANSITIONS: readonly FenceTransition[] = Object.freeze([])
const NO_FENCES: readonly FenceMembership[] = Object.freeze([])

/** Precomputes each fence's bounding box, so that a fix is tested in full only against fences near it. */
export function compileFences (fences: readonly Geofence[], config: Pick<GeofenceConfig, 'hysteresisM'>): CompiledFences {
  const list = fences.map((fence) => compileFence(fence, config.hysteresisM))
  const byId = new Map(list.map((fence) => [fence.id, fence]))
  if (byId.size !== list.length) throw new RangeError('geofence ids must be unique')
  return { list, byId, hysteresisM: config.hysteresisM }
}

function compileFence (fence: Geofence, hysteresisM: number): CompiledFence {
  const { shape } = fence
  let lats: number[]
  let lons: number[]
  let marginM = hysteresisM + NEAR_M
  if (shape.type === 'circle') {
    lats = [shape.lat]
    lons = [shape.lon]
    marginM += shape.radiusM
  } else {
    if (shape.ring.length < 3) throw new RangeError(`geofence ${fence.id}: a polygon needs at least 3 points`)
    lats = shape.ring.map((point) => point[1])
    lons = shape.ring.map((point) => point[0])
  }
  // NEAR_M's slack dwarfs any difference between the spherical and projected distances zoneOf uses
  const dLat = marginM / METRES_PER_DEGREE
  const minLat = Math.min(...lats) - dLat
  const maxLat = Math.max(...lats) + dLat
  // a degree of longitude is shortest at the box's most poleward latitude; near a pole, take them all
  const cos = Math.cos(Math.min(90, Math.max(Math.abs(minLat), Math.abs(maxLat))) * Math.PI / 180)
  const dLon = cos < 1e-6 ? 360 : dLat / cos
  return { id: fence.id, shape, minLat, maxLat, minLon: Math.min(...lons) - dLon, maxLon: Math.max(...lons) + dLon }
}

function nearBox (fence: CompiledFence, fix: LatLon): boolean {
  return fix.lat >= fence.minLat && fix.lat <= fence.maxLat && fix.lon >= fence.minLon && fix.lon <= fence.maxLon
}

function zoneOf (fence: CompiledFence, fix: LatLon, hysteresisM: number): Zone {
  if (!nearBox(fence, fix)) return 'outside'
  const { shape } = fence
  if (shape.type === 'circle') {
    const d = distanceM(fix, shape)
    return d <= shape.radiusM ? 'inside' : d > shape.radiusM + hysteresisM ? 'outside' : 'band'
  }
  if (pointInRing(fix, shape.ring)) return 'inside'
  return distanceToRingM(fix, shape.ring) > hysteresisM ? 'outside' : 'band'
}

/**
 * One fix's effect on a vehicle's fences. Returns the state to keep and the confirmed entries and
 * exits, each dated to the first fix that showed it.
 *
 * - The first fix sets membership silently: a van first seen parked in the depot has not arrived.
 * - Late or out-of-order fixes (`time <= lastTime`) and inaccurate ones change nothing.
 * - Fences no longer in `fences` are forgotten, without an exit: the fence went, not the vehicle.
 * - When no membership changes, the transitions are a shared empty array and the state keeps its
 *   `fences` array. A fix near no fence, of a vehicle inside of or pending on none (nearly every
 *   fix of a driving vehicle), returns the very same state without moving `lastTime`: it starts
 *   and cancels nothing. The price: a fix older than such a far fix, arriving after it, is used.
 *   Passing in only the fixes the pipeline has not marked late closes that gap.
 */
export function nextOnFix (state: VehicleFenceState, fix: GeofenceFix, fences: CompiledFences, config: GeofenceConfig): FenceStep
export function nextOnFix (state: VehicleFenceState | undefined, fix: GeofenceFix, fences: CompiledFences, config: GeofenceConfig): FenceStep<VehicleFenceState | undefined>
export function nextOnFix (state: VehicleFenceState | undefined, fix: GeofenceFix, fences: CompiledFences, config: GeofenceConfig): FenceStep<VehicleFenceState | undefined> {
  // the boxes were grown for fences.hysteresisM: a wider band could reach past them
  if (config.hysteresisM > fences.hysteresisM) throw new RangeError('fences were compiled for a smaller hysteresisM')
  if (!usable(fix, config) || (state !== undefined && fix.time <= state.lastTime)) return { state, transitions: NO_TRANSITIONS }
  if (state === undefined) return { state: firstState(fix, fences, config.hysteresisM), transitions: NO_TRANSITIONS }

  const old = state.fences
  let next: FenceMembership[] | undefined // copied on the first change only
  let transitions: FenceTransition[] | undefined
  for (const membership of old) {
    const fence = fences.byId.get(membership.fenceId)
    const stepped = fence === undefined ? null : step(membership, zoneOf(fence, fix, config.hysteresisM), fix.time, config.minDwellMs)
    if (stepped === membership && next === undefined) continue
    next ??= old.slice(0, old.indexOf(membership))
    if (stepped !== null) next.push(stepped)
    const { pending } = membership
    if (fence !== undefined && pending !== null && (stepped?.inside ?? false) !== membership.inside) {
      transitions ??= []
      transitions.push({ fenceId: membership.fenceId, kind: pending.inside ? 'enter' : 'exit', time: pending.since })
    }
  }
  // fences the vehicle was settled outside of: only a fix inside one starts something
  let near = old.length > 0
  for (const fence of fences.list) {
    if (!nearBox(fence, fix)) continue
    near = true
    if (isTracked(old, fence.id) || zoneOf(fence, fix, config.hysteresisM) !== 'inside') continue
    next ??= old.slice()
    next.push({ fenceId: fence.id, inside: false, pending: { inside: true, since: fix.time } })
  }
  if (next !== undefined) return { state: { lastTime: fix.time, fences: next }, transitions: transitions ?? NO_TRANSITIONS }
  // nothing changed; still, a fix near a fence moves lastTime, so a late fix cannot undo what this one settled
  return { state: near ? { lastTime: fix.time, fences: old } : state, transitions: NO_TRANSITIONS }
}

/** Where the rules leave one fence's membership; the same object when unchanged, null when settled outside. */
function step (membership: FenceMembership, zone: Zone, time: number, minDwellMs: number): FenceMembership | null {
  if (zone === 'band') return membership // a fix in the band proves neither side
  const inside = zone === 'inside'
  const { pending } = membership
  if (inside === membership.inside) {
    if (pending === null) return membership
    return inside ? { fenceId: membership.fenceId, inside, pending: null } : null // back on the confirmed side: cancel
  }
  if (pending === null) return { fenceId: membership.fenceId, inside: membership.inside, pending: { inside, since: time } }
  if (time - pending.since < minDwellMs) return membership
  return inside ? { fenceId: membership.fenceId, inside, pending: null } : null
}

function firstState (fix: GeofenceFix, fences: CompiledFences, hysteresisM: number): VehicleFenceState {
  // a first fix in the band counts as outside: if the vehicle is really inside, the next fixes enter it
  const inside = fences.list.filter((fence) => zoneOf(fence, fix, hysteresisM) === 'inside')
  return { lastTime: fix.time, fences: inside.length === 0 ? NO_FENCES : inside.map((fence) => ({ fenceId: fence.id, inside: true, pending: null })) }
}

function usable (fix: GeofenceFix, config: GeofenceConfig): boolean {
  return Number.isFinite(fix.time) && Number.isFinite(fix.lat) && Number.isFinite(fix.lon) &&
    !(fix.accuracy !== undefined && fix.accuracy > config.maxAccuracyM)
}

function isTracked (memberships: readonly FenceMembership[], fenceId: string): boolean {
  for (const membership of memberships) if (membership.fenceId === fenceId) return true
  return false
}
