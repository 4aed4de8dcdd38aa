interface ExceptionItem {
  id: string
  kind: 'stalled' | 'suspected_lost' | 'customs_dwell' | 'vehicle_silent' | 'antenna_disconnected' | 'cash_discrepancy'
  parcel: { id: string, trackingNumber: string, status: string } | null
  vehicleId: string | null
  deviceId: string | null
  detail: { port?: string, currency?: string, difference?: string, stationId?: string }
  ageSeconds: number
  lastPosition: { lat: number, lon: number, time: string, source: string } | null
  lastScan: { time: string, readerId: string, stationId: string | null } | null
}

const POLL_MS = 15_000
const WORDS: Record<ExceptionItem['kind'], string> = {
  stalled: 'Stalled',
  suspected_lost: 'Suspected lost',
  customs_dwell: 'Held in customs',
  vehicle_silent: 'Vehicle silent',
  antenna_disconnected: 'Antenna disconnected',
  cash_discrepancy: 'Cash handover off'
}

/**
 * The ops desk's to-do list: stalled, suspected-lost and customs-held parcels, silent vehicles,
 * readers' disconnected antennas and cash handovers that did not count out, oldest problem first, each with its age, last scan and last position. A row with a position
 * flies the map there.
 */
export function startExceptionsPanel (list: HTMLOListElement, count: HTMLElement, flyTo: (lon: number, lat: number) => void): void {
  const refresh = async (): Promise<void> => {
    const response = await fetch('/api/exceptions')
    if (!response.ok) return
    const { items } = await response.json() as { items: ExceptionItem[] }
    items.sort((a, b) => b.ageSeconds - a.ageSeconds)
    count.textContent = String(items.length)
    list.replaceChildren(...items.map((item) => entry(item, flyTo)))
  }
  void refresh()
  setInterval(() => { void refresh() }, POLL_MS)
}

function entry (item: ExceptionItem, flyTo: (lon: number, lat: number) => void): HTMLLIElement {
  const li = document.createElement('li')
  li.dataset.kind = item.kind
  const button = document.createElement('button')
  button.type = 'button'
  const subject = item.kind === 'cash_discrepancy'
    ? `${item.deviceId ?? '?'} at ${item.detail.stationId ?? '?'}, ${item.detail.difference ?? '?'} ${item.detail.currency ?? ''}`
    : item.parcel?.trackingNumber ?? item.vehicleId ??
      (item.deviceId === null ? '?' : `${item.deviceId}${item.detail.port === undefined ? '' : ` port ${item.detail.port}`}`)
  button.textContent = `${WORDS[item.kind]}: ${subject} · ${duration(item.ageSeconds)}`
  const place = item.lastPosition
  button.disabled = place === null
  if (place !== null) button.addEventListener('click', () => { flyTo(place.lon, place.lat) })
  const detail = document.createElement('div')
  detail.className = 'detail'
  const scan = item.lastScan === null ? 'no scan' : `last scan ${new Date(item.lastScan.time).toLocaleString()} at ${item.lastScan.stationId ?? item.lastScan.readerId}`
  const seen = place === null ? 'no position' : `last position ${new Date(place.time).toLocaleString()} (${place.source})`
  detail.textContent = `${scan}; ${seen}`
  li.append(button, detail)
  return li
}

function duration (seconds: number): string {
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`
  return `${Math.round(seconds / 86_400)} days`
}
