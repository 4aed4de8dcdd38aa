import type { Registry } from '../../state/registry.js'
import { applyTrack } from '../../state/parcel-state.js'
import { nextOnScan } from '../../tracking/parcel-track.js'
import type { ScanItem, Stage } from '../items.js'

/** A known tag read at a station records what that reader (or that antenna) means on the parcel. */
export function scanMilestones (registry: Registry): Stage<ScanItem> {
  return {
    name: 'scan-milestones',
    run: (item) => {
      const meaning = registry.meaningOf(item.scan.readerId, item.scan.antenna)
      const station = meaning === undefined ? undefined : registry.stations.get(meaning.stationId)
      const parcel = item.parcelId === null ? undefined : registry.parcels.get(item.parcelId)
      if (meaning === undefined || station === undefined || parcel === undefined) return undefined
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
        note: null
      }))
      return undefined
    }
  }
}
