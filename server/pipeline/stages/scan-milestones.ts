import type { DeviceStateStore } from '../../state/device-state.js'
import { applyTrack } from '../../state/parcel-state.js'
import type { Registry } from '../../state/registry.js'
import { containerRef, parcelRef, vehicleRef, type ItemRef } from '../../tracking/custody.js'
import { nextOnScan } from '../../tracking/parcel-track.js'
import { moveItem } from '../custody-moves.js'
import type { ScanItem, Stage } from '../items.js'

/**
 * A known tag read at a station records what that reader (or that antenna) means on the parcel.
 * At a dock door serving a vehicle, "loaded" and "unloaded" also move the parcel, or the container
 * with everything in it, onto or off that vehicle; at a door whose antennas have sides, the order
 * a tag passed them decides which.
 */
export function scanMilestones (registry: Registry, deviceState: DeviceStateStore): Stage<ScanItem> {
  return {
    name: 'scan-milestones',
    run: (item) => {
      const mountedIn = registry.readers.get(item.scan.readerId)
      if (mountedIn?.mounted === true && mountedIn.vehicleId !== null) {
        const tagged: ItemRef | null = item.parcelId !== null ? parcelRef(item.parcelId) : item.containerId !== null ? containerRef(item.containerId) : null
        if (tagged === null || registry.custody.vehicleOf(tagged) === mountedIn.vehicleId) return undefined
        const moved = moveItem(registry, deviceState, tagged, vehicleRef(mountedIn.vehicleId), { time: item.scan.time, source: 'rfid', deviceId: item.scan.readerId, stationId: null })
        item.milestones = moved.milestones
        item.custody = moved.custody
        return undefined
      }
      const meaning = registry.meaningOf(item.scan.readerId, item.scan.antenna)
      const station = meaning === undefined ? undefined : registry.stations.get(meaning.stationId)
      if (meaning === undefined || station === undefined) return undefined
      const reader = registry.readers.get(item.scan.readerId)
      const vehicleId = reader?.vehicleId ?? null
      const tagged: ItemRef | null = item.parcelId !== null ? parcelRef(item.parcelId) : item.containerId !== null ? containerRef(item.containerId) : null
      if (tagged !== null && vehicleId !== null) {
        // a door with inner and outer antennas says which way the tag went; otherwise the antenna's meaning does
        const sided = reader?.antennas.some((antenna) => antenna.side !== undefined) === true
        const loading = sided ? item.direction === null ? null : item.direction === 'loading' : meaning.milestone === 'loaded' ? true : meaning.milestone === 'unloaded' ? false : null
        if (sided && loading === null) return undefined
        if (loading !== null) {
          // a tag read again and again at the door moves it once
          if (loading === (registry.custody.vehicleOf(tagged) === vehicleId)) return undefined
          const moved = moveItem(registry, deviceState, tagged, loading ? vehicleRef(vehicleId) : null, {
            time: item.scan.time, source: 'rfid', deviceId: item.scan.readerId, stationId: station.id
          })
          item.milestones = moved.milestones
          item.custody = moved.custody
          return undefined
        }
      }
      const parcel = item.parcelId === null ? undefined : registry.parcels.get(item.parcelId)
      if (parcel === undefined) return undefined
      const { track, milestones } = nextOnScan(parcel.track, {
        time: item.scan.time,
        stationId: station.id,
        milestone: meaning.milestone
      })
      applyTrack(parcel, track)
      item.milestones = milestones.map((milestone) => ({
        parcelId: parcel.id,
        code: milestone.code,
        time: milestone.time,
        stationId: station.id,
        lat: station.lat,
        lon: station.lon,
        source: 'rfid',
        deviceId: item.scan.readerId,
        vehicleId: null,
        detail: null,
        note: null
      }))
      return undefined
    }
  }
}
