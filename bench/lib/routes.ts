import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export interface RoutePoint { lat: number, lon: number }

/** A real car drive (gpxpy test file, Apache-2.0): the fleet drives it, each vehicle from its own offset. */
export function loadRoute (): RoutePoint[] {
  const gpx = readFileSync(fileURLToPath(new URL('../routes/around-visnjan-with-car.gpx', import.meta.url)), 'utf8')
  return [...gpx.matchAll(/<trkpt lat="([-\d.]+)" lon="([-\d.]+)"/g)].map((m) => ({ lat: Number(m[1]), lon: Number(m[2]) }))
}

/** Where vehicle `index` is after `step` fixes: spread over the route, and shifted a little per vehicle. */
export function positionOf (route: RoutePoint[], index: number, step: number): RoutePoint {
  const point = route[(index * 7 + step) % route.length] as RoutePoint
  const shift = (index % 100) * 0.001
  return { lat: point.lat + shift, lon: point.lon + shift }
}

/** The area the whole fleet covers, for viewports. */
export function fleetBox (route: RoutePoint[]): [number, number, number, number] {
  const lats = route.map((p) => p.lat)
  const lons = route.map((p) => p.lon)
  return [Math.min(...lons), Math.min(...lats), Math.max(...lons) + 0.1, Math.max(...lats) + 0.1]
}

/** An ops desk watches a region, not the world: one cell of a 10 × 10 grid over the fleet's area. */
export function viewport (box: [number, number, number, number], i: number): [number, number, number, number] {
  const [west, south, east, north] = box
  const w = (east - west) / 10
  const h = (north - south) / 10
  const x = i % 10
  const y = Math.floor(i / 10) % 10
  return [west + x * w, south + y * h, west + (x + 1) * w, south + (y + 1) * h]
}
