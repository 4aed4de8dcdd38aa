import type { Map as MapLibreMap } from 'maplibre-gl'
import type { Feature, FeatureCollection, Polygon, Point } from 'geojson'

interface Station { id: string, name: string, lat: number, lon: number }
interface Geofence {
  id: string
  name: string
  kind: string
  shape: { type: 'circle', lat: number, lon: number, radiusM: number } | { type: 'polygon', ring: Array<[number, number]> }
}

const METRES_PER_DEGREE = 111_320

/** Stations and geofences under the vehicles, so the ops desk sees where crossings happen. */
export async function addPlaces (map: MapLibreMap): Promise<void> {
  const [stations, fences] = await Promise.all([list<Station>('/api/stations'), list<Geofence>('/api/geofences')])
  map.addSource('geofences', { type: 'geojson', data: { type: 'FeatureCollection', features: fences.map(fenceFeature) } })
  map.addLayer({ id: 'geofences', type: 'fill', source: 'geofences', paint: { 'fill-color': '#e8a33d', 'fill-opacity': 0.18 } })
  map.addLayer({ id: 'geofence-edges', type: 'line', source: 'geofences', paint: { 'line-color': '#b4690e', 'line-width': 1.5 } })
  const points: FeatureCollection<Point> = {
    type: 'FeatureCollection',
    features: stations.map((s) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [s.lon, s.lat] }, properties: { id: s.id, name: s.name } }))
  }
  map.addSource('stations', { type: 'geojson', data: points })
  map.addLayer({
    id: 'stations',
    type: 'circle',
    source: 'stations',
    paint: { 'circle-radius': 5, 'circle-color': '#ffffff', 'circle-stroke-color': '#b4690e', 'circle-stroke-width': 2 }
  })
}

async function list<T> (url: string): Promise<T[]> {
  const response = await fetch(url)
  return response.ok ? (await response.json() as { items: T[] }).items : []
}

function fenceFeature (fence: Geofence): Feature<Polygon> {
  const ring = fence.shape.type === 'polygon' ? closed(fence.shape.ring) : circle(fence.shape.lat, fence.shape.lon, fence.shape.radiusM)
  return { type: 'Feature', geometry: { type: 'Polygon', coordinates: [ring] }, properties: { id: fence.id, name: fence.name, kind: fence.kind } }
}

/** A circle as a 48-sided polygon: GeoJSON has no circles. */
function circle (lat: number, lon: number, radiusM: number): Array<[number, number]> {
  const dLat = radiusM / METRES_PER_DEGREE
  const dLon = dLat / Math.cos(lat * Math.PI / 180)
  const ring = Array.from({ length: 48 }, (_, i): [number, number] => {
    const a = (i / 48) * 2 * Math.PI
    return [lon + dLon * Math.cos(a), lat + dLat * Math.sin(a)]
  })
  return closed(ring)
}

function closed (ring: Array<[number, number]>): Array<[number, number]> {
  const first = ring[0]
  return first === undefined ? ring : [...ring, first]
}
