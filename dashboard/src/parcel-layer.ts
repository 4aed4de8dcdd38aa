import type { GeoJSONSource, Map as MapLibreMap } from 'maplibre-gl'

interface Parcel {
  id: string
  trackingNumber: string
  status: string
  endedAt: string | null
  position: { lat: number, lon: number } | null
}

const REFRESH_MS = 30_000

/**
 * For those who may see parcels but not the fleet (a merchant's users): their own parcels on the
 * way, where the vehicle carrying each one is, refreshed every half minute. The API scopes the
 * list to the merchant; this only draws it.
 */
export function startParcelLayer (map: MapLibreMap, list: HTMLUListElement): void {
  map.addSource('parcels', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } })
  map.addLayer({ id: 'parcels', type: 'circle', source: 'parcels', paint: { 'circle-radius': 6, 'circle-color': '#0b6bcb', 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } })
  const refresh = async (): Promise<void> => {
    const response = await fetch('/api/parcels?limit=500').catch(() => undefined)
    if (response?.ok !== true) return
    const onTheirWay = (await response.json() as { items: Parcel[] }).items.filter((parcel) => parcel.endedAt === null)
    const placed = onTheirWay.filter((parcel) => parcel.position !== null)
    ;(map.getSource('parcels') as GeoJSONSource).setData({
      type: 'FeatureCollection',
      features: placed.map((parcel) => ({
        type: 'Feature',
        properties: { trackingNumber: parcel.trackingNumber },
        geometry: { type: 'Point', coordinates: [parcel.position?.lon ?? 0, parcel.position?.lat ?? 0] }
      }))
    })
    list.replaceChildren(...onTheirWay.map((parcel) => {
      const li = document.createElement('li')
      li.dataset.trackingNumber = parcel.trackingNumber
      li.textContent = `${parcel.trackingNumber}: ${parcel.status.replaceAll('_', ' ')}${parcel.position === null ? '' : ' (on the map)'}`
      return li
    }))
    Object.assign(window, { trackstreamParcels: placed.map((parcel) => parcel.trackingNumber) })
  }
  void refresh()
  setInterval(() => { void refresh() }, REFRESH_MS)
}
