import type { DeviceStateStore } from '../../state/device-state.js'
import { applyTrack } from '../../state/parcel-state.js'
import type { ReaderRecord, Registry } from '../../state/registry.js'
import { containerRef, parcelRef, vehicleRef, type ItemRef } from '../../tracking/custody.js'
import type { ScanMilestoneCode } from '../../tracking/milestones.js'
import { nextOnScan } from '../../tracking/parcel-track.js'
import { moveItem } from '../custody-moves.js'
import type { ScanItem, Stage } from '../items.js'

/** What a read does to the tag's place on the reader's vehicle: nothing yet, or no vehicle at all. */
type Boarding = 'on' | 'off' | 'undecided' | 'no_vehicle'

/**
 * A known tag read at a station records what that reader (or that antenna) means on the parcel.
 * A reader with a vehicle moves the parcel, or the container with everything in it, onto or off
 * that vehicle instead: mounted in it, everything it reads is aboard; at a dock door whose
 * antennas have sides, the order a tag passed them decides; at any other door, the antenna's
 * meaning ("loaded", "unloaded") does.
 */
export function scanMilestones (registry: Registry, deviceState: DeviceStateStore): Stage<ScanItem> {
  return {
    name: 'scan-milestones',
    run: (item) => {
      const reader = registry.readers.get(item.scan.readerId)
      const meaning = registry.meaningOf(item.scan.readerId, item.scan.antenna)
      const tagged: ItemRef | null = item.parcelId !== null ? parcelRef(item.parcelId) : item.containerId !== null ? containerRef(item.containerId) : null
      const boarding = tagged === null ? 'no_vehicle' : boardingOf(reader, item, meaning?.milestone)
      if (boarding === 'undecided') return undefined
      if (boarding !== 'no_vehicle' && tagged !== null && reader?.vehicleId != null) {
        // a tag read again and again moves it once
        if ((boarding === 'on') === (registry.custody.vehicleOf(tagged) === reader.vehicleId)) return undefined
        const moved = moveItem(registry, deviceState, tagged, boarding === 'on' ? vehicleRef(reader.vehicleId) : null, {
          time: item.scan.time, source: 'rfid', deviceId: item.scan.readerId, stationId: meaning?.stationId ?? null
        })
        item.milestones = moved.milestones
        item.custody = moved.custody
        return undefined
      }
      const station = meaning === undefined ? undefined : registry.stations.get(meaning.stationId)
      const parcel = item.parcelId === null ? undefined : registry.parcels.get(item.parcelId)
      if (meaning === undefined || station === undefined || parcel === undefined) return undefined
      const { track, milestones } = nextOnScan(parcel.track, { time: item.scan.time, stationId: station.id, milestone: meaning.milestone })
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

function boardingOf (reader: ReaderRecord | undefined, item: ScanItem, milestone: ScanMilestoneCode | undefined): Boarding {
  if (reader?.vehicleId == null) return 'no_vehicle'
  if (reader.mounted) return 'on'
  if (reader.antennas.some((antenna) => antenna.side !== undefined)) {
    return item.direction === null ? 'undecided' : item.direction === 'loading' ? 'on' : 'off'
  }
  return milestone === 'loaded' ? 'on' : milestone === 'unloaded' ? 'off' : 'no_vehicle'
}
