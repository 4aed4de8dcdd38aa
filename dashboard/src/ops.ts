import * as maplibregl from 'maplibre-gl'
import { basemapStyle } from './basemap.js'
import { startDevicePanel } from './device-panel.js'
import { startExceptionsPanel } from './exceptions-panel.js'
import { startCashPanel } from './cash-panel.js'
import { startFinancePanel } from './finance-panel.js'
import { startParcelLayer } from './parcel-layer.js'
import { addPlaces } from './places-layer.js'
import { startKpiPanel } from './kpi-panel.js'
import { startReplayPanel } from './replay-panel.js'
import { startSearchPanel } from './search-panel.js'
import { openLiveSocket } from './live-socket.js'
import { VehicleLayer } from './vehicle-layer.js'
import type { LiveFrame as WireFrame, LiveFramePosition } from '../../proto/live-codec.js'

type LivePosition = LiveFramePosition
type LiveFrame = WireFrame | { type: 'error', error: string }

interface Driver { name: string, phone: string | null, since: string }
interface Vehicle { id: string, name: string, plate: string | null, driver: Driver | null }

const vehicles = new Map<string, Vehicle>()
const $ = <T extends HTMLElement>(selector: string): T => document.querySelector(selector) as T

interface Session { loggedIn: boolean, actor: string | null, role: string | null, permissions: string[] }

async function main (): Promise<void> {
  const session = await (await fetch('/api/session')).json() as Session
  if (!session.loggedIn) {
    showLogin()
    return
  }
  const can = (permission: string): boolean => session.permissions.includes(permission)
  // each panel says what it needs; a role sees the panels it may use, and the API refuses the rest anyway
  for (const panel of document.querySelectorAll<HTMLElement>('[data-needs]')) {
    const unless = panel.dataset.unless
    panel.hidden = !can(panel.dataset.needs ?? '') || (unless !== undefined && can(unless))
  }
  $('#whoami-name').textContent = `${session.actor ?? ''}${session.role === null ? '' : ` (${session.role})`}`
  $('#logout').addEventListener('click', () => {
    void fetch('/api/session', { method: 'DELETE' }).then(() => { location.reload() })
  })
  $('#login').hidden = true
  $('#app').hidden = false
  if (can('fleet:read')) startDevicePanel($<HTMLTableSectionElement>('#device-table tbody'))
  if (can('kpis:read')) startKpiPanel($<HTMLTableElement>('#kpi-table'), $<HTMLSelectElement>('#kpi-by'))
  if (can('finance:read')) startFinancePanel($<HTMLTableSectionElement>('#finance-table tbody'))
  if (can('finance:read')) {
    startCashPanel({
      balances: $<HTMLTableSectionElement>('#cash-table tbody'),
      discrepancies: $<HTMLUListElement>('#discrepancy-list'),
      handovers: $<HTMLUListElement>('#handover-list'),
      batches: $<HTMLUListElement>('#batch-list')
    })
  }
  const map = await startMap(can('fleet:read'))
  if (can('exceptions:read')) startExceptionsPanel($<HTMLOListElement>('#exception-list'), $('#exception-count'), (lon, lat) => { map.flyTo({ center: [lon, lat], zoom: 14 }) })
  if (can('parcels:read')) startSearchPanel(map)
  if (can('parcels:read') && !can('fleet:read')) startParcelLayer(map, $<HTMLUListElement>('#parcel-list'))
  // the vehicles startMap fetched: the replay offers the same list, under the same names
  if (can('fleet:read')) startReplayPanel(map, [...vehicles.values()].map((vehicle) => ({ id: vehicle.id, label: vehicleName(vehicle) })))
}

function showLogin (): void {
  const form = $<HTMLFormElement>('#login')
  form.hidden = false
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const email = $<HTMLInputElement>('#login-email').value.trim()
    const password = $<HTMLInputElement>('#login-password').value
    void fetch('/api/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(email === '' ? { apiKey: password.trim() } : { email, password })
    }).then(async (response) => {
      if (response.ok) {
        form.hidden = true
        await main()
        return
      }
      const wait = response.headers.get('retry-after')
      $('#login-error').textContent = response.status === 429
        ? `Too many tries. Wait${wait === null ? ' a minute' : ` ${wait} s`} and try again.`
        : email === '' ? 'That API key is not valid.' : 'Wrong email or password.'
    })
  })
}

async function startMap (fleet: boolean): Promise<maplibregl.Map> {
  const map = new maplibregl.Map({ container: 'map', style: await basemapStyle(), center: [100.5, 13.7], zoom: 4 })
  map.addControl(new maplibregl.NavigationControl(), 'top-right')
  await map.once('load')
  if (!fleet) {
    Object.assign(window, { trackstream: { map, positions: new Map() } })
    return map
  }
  const list = await (await fetch('/api/vehicles')).json() as { items: Vehicle[] }
  for (const vehicle of list.items) vehicles.set(vehicle.id, vehicle)
  await addPlaces(map)
  const layer = new VehicleLayer<LivePosition>(map)
  const positions = layer.all
  Object.assign(window, { trackstream: { map, positions } })
  map.on('click', 'vehicles', (event) => {
    const id = event.features?.[0]?.properties?.deviceId as string | undefined
    const position = id === undefined ? undefined : positions.get(id)
    if (position === undefined) return
    const content = describe(position)
    new maplibregl.Popup().setLngLat([position.lon, position.lat]).setDOMContent(content).addTo(map)
    if (position.vehicleId !== null) void describeVehicle(position.vehicleId, content)
  })

  const viewport = (): [number, number, number, number] => {
    const b = map.getBounds()
    return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((n) => Math.round(n * 1e4) / 1e4) as [number, number, number, number]
  }
  const socket = openLiveSocket('/ws/live?snapshot=on-viewport', {
    onOpen: (live) => { live.send({ type: 'viewport', bbox: wholeWorld(map) ? null : viewport(), format: 'protobuf' }) },
    onMessage: (message) => { onFrame(message as LiveFrame, layer) },
    onStatus: (connected) => {
      $('#connection').textContent = connected ? 'live' : 'reconnecting…'
      $('#connection').dataset.connected = String(connected)
    }
  })
  map.on('moveend', () => { socket.send({ type: 'viewport', bbox: wholeWorld(map) ? null : viewport(), format: 'protobuf' }) })
  return map
}

function wholeWorld (map: maplibregl.Map): boolean {
  const b = map.getBounds()
  return b.getEast() - b.getWest() >= 360
}

function onFrame (frame: LiveFrame, layer: VehicleLayer<LivePosition>): void {
  if (frame.type === 'error') return
  layer.update(frame.positions, frame.type === 'snapshot')
  // the feed can send fifty frames a second; a sorted list of thousands is rebuilt twice a second at most
  listing ??= setTimeout(() => {
    listing = undefined
    renderList(layer.all)
  }, 500)
}
let listing: ReturnType<typeof setTimeout> | undefined

function vehicleName (vehicle: Vehicle): string {
  return `${vehicle.name}${vehicle.plate === null ? '' : ` (${vehicle.plate})`}`
}

function label (position: LivePosition): string {
  const vehicle = position.vehicleId === null ? undefined : vehicles.get(position.vehicleId)
  return vehicle === undefined ? position.deviceId : vehicleName(vehicle)
}

function describe (position: LivePosition): HTMLElement {
  const box = document.createElement('div')
  const title = document.createElement('strong')
  title.textContent = label(position)
  const detail = document.createElement('div')
  const speed = position.speed === null ? '' : `, ${Math.round(position.speed * 3.6)} km/h`
  detail.textContent = `${new Date(position.time).toLocaleTimeString()}${speed}`
  box.append(title, detail)
  return box
}

/** Who drives the clicked vehicle and what it carries, added to its popup when the API answers. */
async function describeVehicle (vehicleId: string, box: HTMLElement): Promise<void> {
  const id = encodeURIComponent(vehicleId)
  const [vehicleResponse, aboardResponse] = await Promise.all([fetch(`/api/vehicles/${id}`), fetch(`/api/vehicles/${id}/aboard`)])
  if (vehicleResponse.ok) box.append(driverLine((await vehicleResponse.json() as Vehicle).driver))
  if (!aboardResponse.ok) return
  const { parcels } = await aboardResponse.json() as { parcels: Array<{ trackingNumber: string, status: string, via: string[] }> }
  const list = document.createElement('ul')
  list.className = 'aboard'
  list.setAttribute('aria-label', 'Parcels aboard')
  list.append(...parcels.map((p) => {
    const item = document.createElement('li')
    item.textContent = `${p.trackingNumber} · ${p.status.replaceAll('_', ' ')}${p.via.length > 0 ? ` (in ${p.via.join(' in ')})` : ''}`
    return item
  }))
  const summary = document.createElement('div')
  summary.textContent = parcels.length === 0 ? 'Nothing aboard' : `${parcels.length} aboard`
  box.append(summary, list)
}

function driverLine (driver: Driver | null): HTMLElement {
  const line = document.createElement('div')
  line.className = 'driver'
  if (driver === null) {
    line.textContent = 'No driver named'
    return line
  }
  line.textContent = `Driver: ${driver.name}`
  if (driver.phone !== null) {
    const call = document.createElement('a')
    call.href = `tel:${driver.phone.replace(/[^+0-9]/g, '')}`
    call.textContent = driver.phone
    line.append(' · ', call)
  }
  return line
}

/** A list is for reading: past this many, the search box and the map serve better. */
const LISTED = 100
const byName = new Intl.Collator(undefined, { numeric: true })

function renderList (positions: ReadonlyMap<string, LivePosition>): void {
  const labelled = [...positions.values()].map((position) => ({ position, name: label(position) }))
  labelled.sort((a, b) => byName.compare(a.name, b.name))
  const items = labelled.slice(0, LISTED).map(({ position, name }) => {
    const item = document.createElement('li')
    item.textContent = `${name} · ${new Date(position.time).toLocaleTimeString()}`
    return item
  })
  if (labelled.length > LISTED) {
    const more = document.createElement('li')
    more.textContent = `and ${labelled.length - LISTED} more: search to find one`
    items.push(more)
  }
  $('#vehicle-list').replaceChildren(...items)
  $('#vehicle-count').textContent = String(positions.size)
}

void main()
