import * as maplibregl from 'maplibre-gl'
import type { GeoJSONSource, LngLatBoundsLike, Map as MapLibreMap } from 'maplibre-gl'
import type { Feature, FeatureCollection, LineString, Point } from 'geojson'

/** A vehicle to choose, as the page already names it. */
export interface VehicleChoice { id: string, label: string }
interface HistoryPoint { time: string, lat: number, lon: number, speed: number | null, heading: number | null }
interface HistoryMilestone { time: string, code: string, label: string, trackingNumber: string, lat: number | null, lon: number | null, stationId: string | null }
interface History { vehicleId: string, from: string, to: string, positions: HistoryPoint[], milestones: HistoryMilestone[], truncated: boolean }
type PopupLine = Pick<HistoryMilestone, 'time' | 'label' | 'trackingNumber'>
/** A fix with its time parsed once, not on every slider step. */
interface Fix { time: number, lat: number, lon: number }

const DAY_MS = 86_400_000
// the slider moves in thousandths of the route's duration: fine enough to follow, coarse enough for arrow keys
const SLIDER_STEPS = 1000
// a whole replay plays in this long, whether it spans an hour or a week
const PLAY_MS = 20_000
const FRAME_MS = 50
const EMPTY: FeatureCollection = { type: 'FeatureCollection', features: [] }

/**
 * Replays where a vehicle drove over a time range: the route as a line, the milestones recorded
 * with the vehicle (loaded, delivered…) as dots with popups, and a marker that a slider or the
 * play button moves along the route by time.
 */
export function startReplayPanel (map: MapLibreMap, choices: readonly VehicleChoice[]): void {
  const form = element('replay-form', HTMLFormElement)
  const clearButton = element('replay-clear', HTMLButtonElement)
  const vehicle = element('replay-select', HTMLSelectElement)
  const from = element('replay-from', HTMLInputElement)
  const to = element('replay-to', HTMLInputElement)
  const status = element('replay-status', HTMLElement)
  const player = element('replay-player', HTMLElement)
  const play = element('replay-play', HTMLButtonElement)
  const slider = element('replay-slider', HTMLInputElement)
  const shownTime = element('replay-time', HTMLOutputElement)
  const milestoneList = element('replay-milestone-list', HTMLOListElement)

  addLayers(map)
  // round up so a fix from the last seconds is inside the default range, which has minute precision
  const end = Math.ceil(Date.now() / 60_000) * 60_000
  to.value = localInput(end)
  from.value = localInput(end - DAY_MS)
  slider.max = String(SLIDER_STEPS)
  fillVehicles(vehicle, choices)

  let fixes: Fix[] = []
  let timer: ReturnType<typeof setInterval> | undefined
  let popup: maplibregl.Popup | undefined
  // a slow answer must not draw over a newer request or a Clear
  let request = 0

  const timeAt = (step: number): number => {
    const first = fixes[0]?.time ?? 0
    const last = fixes.at(-1)?.time ?? first
    return first + (last - first) * step / SLIDER_STEPS
  }
  const moveTo = (step: number): void => {
    slider.value = String(step)
    const time = timeAt(step)
    const at = positionAt(fixes, time)
    source(map, 'replay-vehicle').setData(at === undefined ? EMPTY : pointCollection([{ lon: at.lon, lat: at.lat, properties: { time } }]))
    const text = new Date(time).toLocaleString()
    shownTime.value = text
    slider.setAttribute('aria-valuetext', text)
  }
  const pause = (): void => {
    clearInterval(timer)
    timer = undefined
    play.textContent = 'Play'
  }
  const clear = (): void => {
    request++
    pause()
    popup?.remove()
    fixes = []
    for (const id of ['replay-route', 'replay-milestones', 'replay-vehicle']) source(map, id).setData(EMPTY)
    milestoneList.replaceChildren()
    player.hidden = true
    status.textContent = ''
  }
  const openPopup = (lon: number, lat: number, milestones: PopupLine[]): void => {
    popup?.remove()
    popup = new maplibregl.Popup().setLngLat([lon, lat]).setDOMContent(describe(milestones)).addTo(map)
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const start = Date.parse(from.value)
    const stop = Date.parse(to.value)
    if (Number.isNaN(start) || Number.isNaN(stop)) return
    clear()
    const ticket = request
    status.textContent = 'Loading…'
    void loadHistory(vehicle.value, start, stop).then((answer) => {
      if (ticket !== request) return
      if ('error' in answer) {
        status.textContent = answer.error
        return
      }
      fixes = answer.positions.map((p) => ({ time: Date.parse(p.time), lat: p.lat, lon: p.lon }))
      const placed = answer.milestones.filter((m): m is HistoryMilestone & { lat: number, lon: number } => m.lat !== null && m.lon !== null)
      source(map, 'replay-route').setData(fixes.length < 2 ? EMPTY : lineCollection(fixes))
      source(map, 'replay-milestones').setData(pointCollection(placed.map((m) => ({ lon: m.lon, lat: m.lat, properties: { ...m } }))))
      milestoneList.replaceChildren(...answer.milestones.map((m) => milestoneEntry(m, () => {
        if (m.lat === null || m.lon === null) return
        map.easeTo({ center: [m.lon, m.lat] })
        openPopup(m.lon, m.lat, [m])
      })))
      status.textContent = summary(answer)
      const bounds = boundsOf([...fixes, ...placed])
      if (bounds !== undefined) map.fitBounds(bounds, { padding: 48, maxZoom: 15 })
      player.hidden = fixes.length === 0
      if (fixes.length > 0) moveTo(0)
    })
  })
  // the inputs keep their values: Clear removes the replay, not the choice of vehicle and range
  clearButton.addEventListener('click', clear)
  slider.addEventListener('input', () => {
    pause()
    moveTo(Number(slider.value))
  })
  play.addEventListener('click', () => {
    if (timer !== undefined) {
      pause()
      return
    }
    let step = Number(slider.value) >= SLIDER_STEPS ? 0 : Number(slider.value)
    play.textContent = 'Pause'
    timer = setInterval(() => {
      step = Math.min(SLIDER_STEPS, step + SLIDER_STEPS * FRAME_MS / PLAY_MS)
      moveTo(Math.round(step))
      if (step >= SLIDER_STEPS) pause()
    }, FRAME_MS)
  })
  map.on('click', 'replay-milestones', (event) => {
    // feature properties come back untyped from the renderer: read only what the popup shows
    const milestones = (event.features ?? []).map((f): PopupLine => ({
      time: String(f.properties.time),
      label: String(f.properties.label),
      trackingNumber: String(f.properties.trackingNumber)
    }))
    if (milestones.length > 0) openPopup(event.lngLat.lng, event.lngLat.lat, milestones)
  })
  map.on('mouseenter', 'replay-milestones', () => { map.getCanvas().style.cursor = 'pointer' })
  map.on('mouseleave', 'replay-milestones', () => { map.getCanvas().style.cursor = '' })
}

function addLayers (map: MapLibreMap): void {
  for (const id of ['replay-route', 'replay-milestones', 'replay-vehicle']) map.addSource(id, { type: 'geojson', data: EMPTY })
  map.addLayer({
    id: 'replay-route',
    type: 'line',
    source: 'replay-route',
    layout: { 'line-join': 'round', 'line-cap': 'round' },
    paint: { 'line-color': '#0b6bcb', 'line-width': 4, 'line-opacity': 0.8 }
  })
  map.addLayer({
    id: 'replay-milestones',
    type: 'circle',
    source: 'replay-milestones',
    paint: { 'circle-radius': 6, 'circle-color': '#c2410c', 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 2 }
  })
  map.addLayer({
    id: 'replay-vehicle',
    type: 'circle',
    source: 'replay-vehicle',
    paint: { 'circle-radius': 8, 'circle-color': '#1c2026', 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 3 }
  })
}

function fillVehicles (select: HTMLSelectElement, choices: readonly VehicleChoice[]): void {
  const prompt = new Option('Choose a vehicle…', '')
  prompt.disabled = true
  prompt.selected = true
  select.replaceChildren(prompt, ...[...choices]
    .sort((a, b) => a.label.localeCompare(b.label))
    .map((v) => new Option(v.label, v.id)))
}

async function loadHistory (vehicleId: string, from: number, to: number): Promise<History | { error: string }> {
  const query = new URLSearchParams({ from: new Date(from).toISOString(), to: new Date(to).toISOString() })
  const response = await fetch(`/api/vehicles/${encodeURIComponent(vehicleId)}/history?${query.toString()}`)
    .catch(() => undefined)
  if (response === undefined) return { error: 'Could not reach the server.' }
  if (response.ok) return await response.json() as History
  const body = await response.json().catch(() => ({})) as { message?: string }
  return { error: `Could not load the route: ${body.message ?? `HTTP ${response.status}`}` }
}

/** Where the vehicle was at a time: between the two fixes around it, in proportion. */
export function positionAt (fixes: readonly Fix[], time: number): { lat: number, lon: number } | undefined {
  let low = 0
  let high = fixes.length - 1
  if (high < 0) return undefined
  // the last fix at or before `time`
  while (low < high) {
    const middle = (low + high + 1) >>> 1
    if ((fixes[middle]?.time ?? Infinity) <= time) low = middle
    else high = middle - 1
  }
  const before = fixes[low]
  const after = fixes[low + 1]
  if (before === undefined) return undefined
  if (after === undefined || after.time <= before.time || time <= before.time) return before
  const share = (time - before.time) / (after.time - before.time)
  return { lat: before.lat + (after.lat - before.lat) * share, lon: before.lon + (after.lon - before.lon) * share }
}

function summary (history: History): string {
  if (history.positions.length === 0 && history.milestones.length === 0) return 'Nothing recorded for this vehicle in that range.'
  const sampled = history.truncated ? ' (a long route: evenly sampled)' : ''
  return `${count(history.positions.length, 'fix', 'fixes')}${sampled}, ${count(history.milestones.length, 'milestone', 'milestones')}`
}

function count (n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`
}

function describe (milestones: readonly PopupLine[]): HTMLElement {
  const list = document.createElement('ul')
  list.className = 'replay-popup'
  list.append(...milestones.map((m) => {
    const item = document.createElement('li')
    item.textContent = `${new Date(m.time).toLocaleString()} · ${m.label} · ${m.trackingNumber}`
    return item
  }))
  return list
}

function milestoneEntry (milestone: HistoryMilestone, show: () => void): HTMLLIElement {
  const item = document.createElement('li')
  const button = document.createElement('button')
  button.type = 'button'
  button.textContent = `${new Date(milestone.time).toLocaleString()} · ${milestone.label} · ${milestone.trackingNumber}`
  // a milestone recorded without a place cannot be shown on the map, but still belongs in the list
  button.disabled = milestone.lat === null || milestone.lon === null
  button.addEventListener('click', show)
  item.append(button)
  return item
}

function boundsOf (points: ReadonlyArray<{ lat: number, lon: number }>): LngLatBoundsLike | undefined {
  if (points.length === 0) return undefined
  const lons = points.map((p) => p.lon)
  const lats = points.map((p) => p.lat)
  return [[Math.min(...lons), Math.min(...lats)], [Math.max(...lons), Math.max(...lats)]]
}

function lineCollection (fixes: readonly Fix[]): FeatureCollection<LineString> {
  return {
    type: 'FeatureCollection',
    features: [{ type: 'Feature', geometry: { type: 'LineString', coordinates: fixes.map((f) => [f.lon, f.lat]) }, properties: {} }]
  }
}

function pointCollection (points: ReadonlyArray<{ lon: number, lat: number, properties: Record<string, unknown> }>): FeatureCollection<Point> {
  return {
    type: 'FeatureCollection',
    features: points.map((p): Feature<Point> => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [p.lon, p.lat] }, properties: p.properties }))
  }
}

function source (map: MapLibreMap, id: string): GeoJSONSource {
  const found = map.getSource<GeoJSONSource>(id)
  if (found === undefined) throw new Error(`the map has no source ${id}`)
  return found
}

/** A datetime-local input's value: the browser's local time, to the minute. */
function localInput (ms: number): string {
  return new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 16)
}

/** The page's markup is part of this panel: fail loudly when it is missing, not later with a null. */
function element<T extends HTMLElement> (id: string, type: new () => T): T {
  const found = document.getElementById(id)
  if (!(found instanceof type)) throw new Error(`#${id} is missing from the ops page`)
  return found
}
