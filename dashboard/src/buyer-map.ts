import * as maplibregl from 'maplibre-gl'
import type { GeoJSONSource, LngLatBoundsLike } from 'maplibre-gl'
import type { Feature, FeatureCollection, Point, Polygon } from 'geojson'
import { basemapStyle } from './basemap.js'

/**
 * The map on the buyer's page: loaded by track.ts with import() only on the day of delivery, so
 * the page itself stays small. It draws what the server sends and nothing more: the van (as a
 * shaded circle while it is far and only its grid cell is known, as a marker once it is near),
 * the buyer's own address, and where the parcel was delivered.
 */

export interface MapPoint { lat: number, lon: number }
export interface BuyerMapView {
  van: { lat: number, lon: number, precise: boolean } | null
  destination: MapPoint | null
  deliveredAt: MapPoint | null
}

export interface BuyerMap {
  show: (view: BuyerMapView) => void
}

/**
 * The server shows a far van at the centre of its 0.02° cell, which can be up to 2.4 km from the
 * van (server/tracking/van-view.ts): a circle this wide always holds it.
 */
const COARSE_RADIUS_M = 2500
const METRES_PER_DEGREE = 111_195
const EMPTY: FeatureCollection = { type: 'FeatureCollection', features: [] }
const LAYERS = ['van-area', 'van', 'destination', 'delivered-at'] as const

export async function openBuyerMap (container: HTMLElement): Promise<BuyerMap> {
  const [style] = await Promise.all([basemapStyle(), loadStylesheet('/maplibre-gl.css')])
  const map = new maplibregl.Map({
    container,
    style,
    center: [100.5, 13.75],
    zoom: 11,
    maxZoom: 17,
    attributionControl: { compact: true },
    // a page scrolled with one finger should scroll, not spin the map
    dragRotate: false,
    pitchWithRotate: false,
    touchPitch: false
  })
  map.touchZoomRotate.disableRotation()
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right')
  Object.assign(window, { trackstream: { map } })
  await map.once('load')
  map.addImage('pin', icon(28, 36, drawPin), { pixelRatio: 2 })
  map.addImage('van', icon(34, 34, drawVan), { pixelRatio: 2 })
  map.addImage('delivered', icon(30, 30, drawDelivered), { pixelRatio: 2 })
  for (const id of LAYERS) map.addSource(id, { type: 'geojson', data: EMPTY })
  map.addLayer({ id: 'van-area', type: 'fill', source: 'van-area', paint: { 'fill-color': '#0b6bcb', 'fill-opacity': 0.16 } })
  map.addLayer({ id: 'van-area-edge', type: 'line', source: 'van-area', paint: { 'line-color': '#0b6bcb', 'line-width': 1.5, 'line-dasharray': [2, 2], 'line-opacity': 0.7 } })
  const icons = { 'icon-allow-overlap': true, 'icon-ignore-placement': true } as const
  map.addLayer({ id: 'destination', type: 'symbol', source: 'destination', layout: { 'icon-image': 'pin', 'icon-anchor': 'bottom', ...icons } })
  map.addLayer({ id: 'delivered-at', type: 'symbol', source: 'delivered-at', layout: { 'icon-image': 'delivered', ...icons } })
  map.addLayer({ id: 'van', type: 'symbol', source: 'van', layout: { 'icon-image': 'van', ...icons } })

  let framed = ''
  return {
    show: (view) => {
      const { van, destination, deliveredAt } = view
      setData(map, 'van-area', van !== null && !van.precise ? [circle(van, COARSE_RADIUS_M)] : [])
      setData(map, 'van', van !== null && van.precise ? [point(van)] : [])
      setData(map, 'destination', destination === null ? [] : [point(destination)])
      setData(map, 'delivered-at', deliveredAt === null ? [] : [point(deliveredAt)])
      // frame everything when what is shown changes kind, or when something drives out of sight;
      // otherwise leave the view to the buyer
      const kind = [van === null ? '-' : van.precise ? 'van' : 'area', destination === null ? '-' : 'home', deliveredAt === null ? '-' : 'done'].join()
      const bounds = boundsOf(view)
      if (bounds === undefined) return
      const inView = map.getBounds()
      const visible = [bounds[0], bounds[1]].every((corner) => inView.contains(corner))
      if (kind === framed && visible) return
      map.fitBounds(bounds, { padding: 48, maxZoom: 15, animate: framed !== '' && kind === framed })
      framed = kind
    }
  }
}

function setData (map: maplibregl.Map, source: string, features: Feature[]): void {
  map.getSource<GeoJSONSource>(source)?.setData({ type: 'FeatureCollection', features })
}

function point ({ lat, lon }: MapPoint): Feature<Point> {
  return { type: 'Feature', geometry: { type: 'Point', coordinates: [lon, lat] }, properties: { lat, lon } }
}

/** A circle on the ground, as a polygon: a circle layer's radius is in pixels, not metres. */
function circle ({ lat, lon }: MapPoint, radiusM: number): Feature<Polygon> {
  const dLat = radiusM / METRES_PER_DEGREE
  const dLon = dLat / Math.cos(lat * Math.PI / 180)
  const ring = Array.from({ length: 65 }, (_, i) => {
    const angle = (i % 64) / 64 * 2 * Math.PI
    return [lon + dLon * Math.cos(angle), lat + dLat * Math.sin(angle)]
  })
  return { type: 'Feature', geometry: { type: 'Polygon', coordinates: [ring] }, properties: { lat, lon } }
}

function boundsOf ({ van, destination, deliveredAt }: BuyerMapView): [[number, number], [number, number]] | undefined {
  const points: Array<[number, number]> = []
  if (van !== null) {
    const r = van.precise ? 0 : COARSE_RADIUS_M / METRES_PER_DEGREE
    const rLon = r / Math.cos(van.lat * Math.PI / 180)
    points.push([van.lon - rLon, van.lat - r], [van.lon + rLon, van.lat + r])
  }
  for (const p of [destination, deliveredAt]) if (p !== null) points.push([p.lon, p.lat])
  if (points.length === 0) return undefined
  const lons = points.map((p) => p[0])
  const lats = points.map((p) => p[1])
  return [[Math.min(...lons), Math.min(...lats)], [Math.max(...lons), Math.max(...lats)]] satisfies LngLatBoundsLike
}

async function loadStylesheet (href: string): Promise<void> {
  if (document.querySelector(`link[href="${href}"]`) !== null) return
  const link = document.createElement('link')
  link.rel = 'stylesheet'
  link.href = href
  await new Promise<void>((resolve, reject) => {
    link.onload = () => { resolve() }
    link.onerror = () => { reject(new Error(`could not load ${href}`)) }
    document.head.append(link)
  })
}

/** An icon drawn at twice its size, for sharp edges on phones. */
function icon (width: number, height: number, draw: (c: CanvasRenderingContext2D, w: number, h: number) => void): ImageData {
  const canvas = document.createElement('canvas')
  canvas.width = width * 2
  canvas.height = height * 2
  const context = canvas.getContext('2d') as CanvasRenderingContext2D
  draw(context, canvas.width, canvas.height)
  return context.getImageData(0, 0, canvas.width, canvas.height)
}

function drawPin (c: CanvasRenderingContext2D, w: number, h: number): void {
  const r = w / 2 - 3
  c.beginPath()
  c.arc(w / 2, r + 3, r, Math.PI * 0.8, Math.PI * 0.2)
  c.lineTo(w / 2, h - 2)
  c.closePath()
  c.fillStyle = '#c62828'
  c.strokeStyle = '#ffffff'
  c.lineWidth = 4
  c.fill()
  c.stroke()
  c.beginPath()
  c.arc(w / 2, r + 3, r * 0.38, 0, Math.PI * 2)
  c.fillStyle = '#ffffff'
  c.fill()
}

/** The round, white-edged badge the van and the delivery mark are drawn on. */
function drawDisc (c: CanvasRenderingContext2D, w: number, h: number, colour: string): void {
  c.beginPath()
  c.arc(w / 2, h / 2, w / 2 - 3, 0, Math.PI * 2)
  c.fillStyle = colour
  c.strokeStyle = '#ffffff'
  c.lineWidth = 5
  c.fill()
  c.stroke()
}

function drawVan (c: CanvasRenderingContext2D, w: number, h: number): void {
  drawDisc(c, w, h, '#0b6bcb')
  // a van from the side, in the 34 × 34 icon's own units: a box, a lower cab in front, two wheels
  const u = w / 34
  c.fillStyle = '#ffffff'
  c.fillRect(8 * u, 11 * u, 12 * u, 10 * u)
  c.beginPath()
  c.moveTo(20 * u, 14 * u)
  c.lineTo(24 * u, 14 * u)
  c.lineTo(26.5 * u, 17.5 * u)
  c.lineTo(26.5 * u, 21 * u)
  c.lineTo(20 * u, 21 * u)
  c.closePath()
  c.fill()
  for (const x of [11.5, 22.5]) {
    c.beginPath()
    c.arc(x * u, 21.5 * u, 2.4 * u, 0, Math.PI * 2)
    c.fillStyle = '#0b6bcb'
    c.fill()
    c.beginPath()
    c.arc(x * u, 21.5 * u, 1.3 * u, 0, Math.PI * 2)
    c.fillStyle = '#ffffff'
    c.fill()
  }
}

function drawDelivered (c: CanvasRenderingContext2D, w: number, h: number): void {
  drawDisc(c, w, h, '#1a7f37')
  c.beginPath()
  c.moveTo(w * 0.3, h * 0.52)
  c.lineTo(w * 0.45, h * 0.66)
  c.lineTo(w * 0.72, h * 0.36)
  c.strokeStyle = '#ffffff'
  c.lineWidth = 6
  c.lineCap = 'round'
  c.lineJoin = 'round'
  c.stroke()
}
