import type { Registry } from '../../state/registry.js'
import { applyTrack } from '../../state/parcel-state.js'
import { nextOnScan } from '../../tracking/parcel-track.js'
import type { ScanItem, Stage } from '../items.js'

/** A known tag read by a reader at a station records the reader's milestone on the parcel. */
export function scanMilestones (registry: Registry): Stage<ScanItem> {
  return {
    name: 'scan-milestones',
    run: (item) => {
      const reader = registry.readers.get(item.scan.readerId)
      const station = reader === undefined ? undefined : registry.stations.get(reader.stationId)
      const parcel = item.parcelId === null ? undefined : registry.parcels.get(item.parcelId)
      if (reader === undefined || station === undefined || parcel === undefined) return undefined
      const { track, milestones } = nextOnScan(parcel.track, {
        time: item.scan.time,
        stationId: station.id,
        milestone: reader.milestone
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
        note: null
      }))
      return undefined
    }
  }
}
