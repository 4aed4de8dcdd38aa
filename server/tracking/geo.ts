/**
 * Geometry for geofences, on plain numbers. Pure and allocation-free: it runs on every GPS fix.
 * Hand-written rather than turf: turf wants GeoJSON objects per call on a 20,000 fix/s path, and
 * these are about 40 textbook lines.
 */

export interface LatLon {
  lat: number
  lon: number
}

/** A polygon's outer ring in GeoJSON order, [lon, lat]; closed (first point repeated) or not. */
export type Ring = ReadonlyArray<readonly [lon: number, lat: number]>

/** The mean Earth radius (IUGG), which makes one degree of latitude about 111.2 km. */
export const EARTH_RADIUS_M = 6_371_008.8
export const METRES_PER_DEGREE = EARTH_RADIUS_M * Math.PI / 180

const RAD = Math.PI / 180

/** Great-circle distance in metres (haversine), accurate at a metre as well as across a continent. */
export function distanceM (a: LatLon, b: LatLon): number {
  const dLat = (b.lat - a.lat) * RAD
  const dLon = (b.lon - a.lon) * RAD
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * RAD) * Math.cos(b.lat * RAD) * Math.sin(dLon / 2) ** 2
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)))
}

/**
 * Whether the point lies inside the ring (even-odd ray casting), so concave and self-touching
 * rings work. Done in plain degrees: the local projection `distanceToRingM` uses is a linear
 * scaling of them, so both agree on which side of an edge a point lies.
 */
export function pointInRing (p: LatLon, ring: Ring): boolean {
  let inside = false
  let b = ring[ring.length - 1]
  if (b === undefined) return false
  for (const a of ring) {
    if ((a[1] > p.lat) !== (b[1] > p.lat) && p.lon < (b[0] - a[0]) * (p.lat - a[1]) / (b[1] - a[1]) + a[0]) inside = !inside
    b = a
  }
  return inside
}

/**
 * Distance in metres from the point to the ring's nearest edge, inside or out. Uses an
 * equirectangular projection centred on the point: within a few km of it the error is well under
 * a metre, and fences are that small. Neither this nor `pointInRing` handles a ring that crosses
 * the antimeridian.
 */
export function distanceToRingM (p: LatLon, ring: Ring): number {
  const ky = METRES_PER_DEGREE
  const kx = ky * Math.cos(p.lat * RAD)
  let best = Infinity
  let a = ring[ring.length - 1]
  if (a === undefined) return best
  for (const b of ring) {
    // the point is the origin: find the closest point of segment a→b to it
    const ax = (a[0] - p.lon) * kx
    const ay = (a[1] - p.lat) * ky
    const dx = (b[0] - a[0]) * kx
    const dy = (b[1] - a[1]) * ky
    const length2 = dx * dx + dy * dy
    const t = length2 === 0 ? 0 : Math.min(1, Math.max(0, -(ax * dx + ay * dy) / length2))
    const x = ax + t * dx
    const y = ay + t * dy
    best = Math.min(best, x * x + y * y)
    a = b
  }
  return Math.sqrt(best)
}
