import * as maplibregl from 'maplibre-gl'
import type { GeoJSONSource } from 'maplibre-gl'
import type { FeatureCollection, Point } from 'geojson'
import { glideAt, glideDone, planGlide, type Glide } from './glide.js'

export interface VehiclePoint { deviceId: string, vehicleId: string | null, lat: number, lon: number, time: number }

/** Up to this zoom, nearby vehicles merge into one numbered circle; beyond it each has its marker. */
const CLUSTER_MAX_ZOOM = 9
/**
 * Every redraw hands the whole source to MapLibre's worker and re-tiles it, so redraws are paced
 * however many frames the feed sends: about 15 a second while markers glide, 4 a second when they
 * jump, and once a second with more than MANY vehicles in view (bench/scenarios/map.ts measures it).
 */
const GLIDE_FRAME_MS = 66
const JUMP_FRAME_MS = 250
const CROWD_FRAME_MS = 1000
/** Past this many vehicles in view nobody follows one marker's motion, and gliding them all would stall the page. */
const MANY = 300
const STALE_MS = 5 * 60 * 1000

/**
 * The vehicles on the ops map: clustered at low zoom, gliding between fixes when zoomed in. Below
 * the cluster zoom, or with hundreds of vehicles in view, markers jump: a few pixels of motion are
 * not worth redrawing thousands of vehicles for.
 */
export class VehicleLayer<P extends VehiclePoint = VehiclePoint> {
  private readonly points = new Map<string, P>()
  private readonly glides = new Map<string, Glide>()
  private readonly clusterLabels = new Map<number, maplibregl.Marker>()
  private scheduled = false
  private dirty = false
  private lastDraw = 0
  private crowded = false
  private labelling: ReturnType<typeof setTimeout> | undefined

  constructor (private readonly map: maplibregl.Map) {
    map.addSource('vehicles', { type: 'geojson', data: this.geoJson(), cluster: true, clusterMaxZoom: CLUSTER_MAX_ZOOM, clusterRadius: 40 })
    map.addLayer({
      id: 'vehicle-clusters',
      type: 'circle',
      source: 'vehicles',
      filter: ['has', 'point_count'],
      paint: {
        'circle-color': '#0b6bcb',
        'circle-opacity': 1,
        'circle-radius': ['step', ['get', 'point_count'], 14, 10, 18, 100, 24, 1000, 30],
        'circle-stroke-color': '#ffffff',
        'circle-stroke-width': 2
      }
    })
    map.addLayer({
      id: 'vehicles',
      type: 'circle',
      source: 'vehicles',
      filter: ['!', ['has', 'point_count']],
      paint: {
        'circle-radius': 7,
        'circle-color': ['case', ['get', 'stale'], '#8a8f98', '#0b6bcb'],
        'circle-stroke-color': '#ffffff',
        'circle-stroke-width': 2
      }
    })
    map.on('click', 'vehicle-clusters', (event) => {
      const id = event.features?.[0]?.properties?.cluster_id as number | undefined
      if (id !== undefined) void this.zoomInto(id, event.lngLat)
    })
    // the offline basemap has no font glyphs, so cluster counts are HTML labels over the circles
    map.on('render', () => { this.labelling ??= setTimeout(() => { this.labelClusters() }, 100) })
  }

  /** The newest position of every vehicle on the map, as the feed gave it. */
  get all (): ReadonlyMap<string, P> {
    return this.points
  }

  /** A snapshot replaces everything; a delta moves what it names. */
  update (points: readonly P[], snapshot: boolean): void {
    const now = performance.now()
    const glides = !snapshot && this.map.getZoom() > CLUSTER_MAX_ZOOM && !this.crowded
    if (snapshot) {
      this.points.clear()
      this.glides.clear()
    }
    for (const point of points) {
      const known = this.points.get(point.deviceId)
      this.points.set(point.deviceId, point)
      if (!glides || known === undefined) continue
      const active = this.glides.get(point.deviceId)
      const drawn = active === undefined ? [known.lon, known.lat] as [number, number] : glideAt(active, now)
      this.glides.set(point.deviceId, planGlide(drawn, [point.lon, point.lat], point.time - known.time, now))
    }
    this.dirty = true
    if (snapshot) this.draw(now)
    this.schedule()
  }

  private inView (): number {
    const bounds = this.map.getBounds()
    let count = 0
    for (const p of this.points.values()) if (bounds.contains([p.lon, p.lat])) count++
    return count
  }

  private schedule (): void {
    if (this.scheduled) return
    this.scheduled = true
    requestAnimationFrame((t) => { this.frame(t) })
  }

  private frame (now: number): void {
    this.scheduled = false
    const pace = this.glides.size > 0 ? GLIDE_FRAME_MS : this.crowded ? CROWD_FRAME_MS : JUMP_FRAME_MS
    if (now - this.lastDraw >= pace) this.draw(now)
    if (this.dirty || this.glides.size > 0) this.schedule()
  }

  private draw (now: number): void {
    this.lastDraw = now
    this.dirty = false
    this.map.getSource<GeoJSONSource>('vehicles')?.setData(this.geoJson(now))
    // counted once a draw, not for each of the feed's frames in between
    this.crowded = this.inView() > MANY
    for (const [id, glide] of this.glides) if (glideDone(glide, now)) this.glides.delete(id)
  }

  private geoJson (now = performance.now()): FeatureCollection<Point> {
    const wallClock = Date.now()
    return {
      type: 'FeatureCollection',
      features: [...this.points.values()].map((p) => {
        const glide = this.glides.get(p.deviceId)
        return {
          type: 'Feature',
          geometry: { type: 'Point', coordinates: glide === undefined ? [p.lon, p.lat] : glideAt(glide, now) },
          properties: { deviceId: p.deviceId, vehicleId: p.vehicleId, stale: wallClock - p.time > STALE_MS }
        }
      })
    }
  }

  private async zoomInto (clusterId: number, at: maplibregl.LngLatLike): Promise<void> {
    const zoom = await this.map.getSource<GeoJSONSource>('vehicles')?.getClusterExpansionZoom(clusterId)
    if (zoom !== undefined) this.map.easeTo({ center: at, zoom })
  }

  private labelClusters (): void {
    this.labelling = undefined
    // beyond the cluster zoom there are no clusters, and asking the source for them reads every vehicle
    if (this.map.getZoom() > CLUSTER_MAX_ZOOM && this.clusterLabels.size === 0) return
    if (!this.map.isSourceLoaded('vehicles')) return
    const seen = new Set<number>()
    for (const feature of this.map.querySourceFeatures('vehicles', { filter: ['has', 'point_count'] })) {
      const id = feature.properties.cluster_id as number
      if (seen.has(id)) continue
      seen.add(id)
      const count = feature.properties.point_count as number
      const [lon, lat] = (feature.geometry as Point).coordinates as [number, number]
      const label = this.clusterLabels.get(id) ?? this.newLabel(id, lon, lat)
      label.setLngLat([lon, lat])
      const element = label.getElement()
      element.textContent = String(count)
      element.setAttribute('aria-label', `${count} vehicles here: zoom in`)
    }
    for (const [id, label] of this.clusterLabels) {
      if (seen.has(id)) continue
      label.remove()
      this.clusterLabels.delete(id)
    }
  }

  private newLabel (id: number, lon: number, lat: number): maplibregl.Marker {
    const button = document.createElement('button')
    button.type = 'button'
    button.className = 'cluster-count'
    button.addEventListener('click', (event) => {
      event.stopPropagation()
      void this.zoomInto(id, [lon, lat])
    })
    const marker = new maplibregl.Marker({ element: button }).setLngLat([lon, lat]).addTo(this.map)
    this.clusterLabels.set(id, marker)
    return marker
  }
}
