import type { Scan } from '../../proto/types.js'
import type { CustodyRow, MilestoneRow, ReaderRecord } from '../model.js'
import { containerRef, parcelRef, vehicleRef, type ItemRef } from '../tracking/custody.js'
import type { ScanMilestoneCode } from '../tracking/milestones.js'
import { nextOnScan } from '../tracking/parcel-track.js'
import type { Direction } from '../tracking/rfid-smoothing.js'
import { changeTrack, moveItem, type TrackObserver } from './milestones.js'
import type { Store } from './store.js'

/** What a read identifies: where it was read, and which parcel or container the tag is. */
export interface ScanIdentity {
  gs1Key: string | null
  stationId: string | null
  parcelId: string | null
  containerId: string | null
}

/** Scans from readers not yet placed at a station, or of unknown tags, are stored all the same. */
export function identify (store: Store, scan: Scan, gs1Key: string | null): ScanIdentity {
  const stationId = store.config.meaningOf(scan.readerId, scan.antenna)?.stationId ?? null
  const parcelId = store.parcels.byTag(scan.epc, gs1Key)?.id ?? null
  const containerId = parcelId === null ? store.config.containerOfTag(scan.epc, gs1Key)?.id ?? null : null
  return { gs1Key, stationId, parcelId, containerId }
}

/** Folds the read into its tag's visit at the reader; the direction it settled, if it settled one. */
export function smooth (store: Store, scan: Scan, identity: ScanIdentity): Direction | null {
  const config = store.visits.configOf(store.config.reader(scan.readerId))
  const step = store.visits.read({ readerId: scan.readerId, epc: scan.epc, parcelId: identity.parcelId, stationId: identity.stationId },
    { time: scan.time, antenna: scan.antenna, rssi: scan.rssi }, config)
  let direction: Direction | null = null
  for (const observation of step.observations) if (observation.kind === 'direction') direction = observation.direction
  return direction
}

/** What a read does to the tag's place on the reader's vehicle: nothing yet, or no vehicle at all. */
type Boarding = 'on' | 'off' | 'undecided' | 'no_vehicle'

/**
 * A known tag read at a station records what that reader (or that antenna) means on the parcel.
 * A reader with a vehicle moves the parcel, or the container with everything in it, onto or off
 * that vehicle instead: mounted in it, everything it reads is aboard; at a dock door whose
 * antennas have sides, the order a tag passed them decides; at any other door, the antenna's
 * meaning ("loaded", "unloaded") does.
 */
export function scanEffects (store: Store, observer: TrackObserver, scan: Scan, identity: ScanIdentity, direction: Direction | null): { milestones: MilestoneRow[], custody: CustodyRow[] } {
  const none = { milestones: [], custody: [] }
  const reader = store.config.reader(scan.readerId)
  const meaning = store.config.meaningOf(scan.readerId, scan.antenna)
  const tagged: ItemRef | null = identity.parcelId !== null ? parcelRef(identity.parcelId) : identity.containerId !== null ? containerRef(identity.containerId) : null
  const boarding = tagged === null ? 'no_vehicle' : boardingOf(reader, direction, meaning?.milestone)
  if (boarding === 'undecided') return none
  if (boarding !== 'no_vehicle' && tagged !== null && reader?.vehicleId != null) {
    // a tag read again and again moves it once
    if ((boarding === 'on') === (store.custody.vehicleOf(tagged) === reader.vehicleId)) return none
    const moved = moveItem(store, observer, tagged, boarding === 'on' ? vehicleRef(reader.vehicleId) : null, {
      time: scan.time, source: 'rfid', deviceId: scan.readerId, stationId: meaning?.stationId ?? null
    })
    return { milestones: moved.milestones, custody: moved.custody }
  }
  const station = meaning === undefined ? undefined : store.config.station(meaning.stationId)
  const parcel = identity.parcelId === null ? undefined : store.parcels.get(identity.parcelId)
  if (meaning === undefined || station === undefined || parcel === undefined) return none
  const { track, milestones } = nextOnScan(parcel.track, { time: scan.time, stationId: station.id, milestone: meaning.milestone })
  changeTrack(store, observer, parcel, track)
  return {
    milestones: milestones.map((milestone) => ({
      parcelId: parcel.id,
      code: milestone.code,
      time: milestone.time,
      stationId: station.id,
      lat: station.lat,
      lon: station.lon,
      source: 'rfid',
      deviceId: scan.readerId,
      vehicleId: null,
      detail: null,
      note: null
    })),
    custody: []
  }
}

function boardingOf (reader: ReaderRecord | undefined, direction: Direction | null, milestone: ScanMilestoneCode | undefined): Boarding {
  if (reader?.vehicleId == null) return 'no_vehicle'
  if (reader.mounted) return 'on'
  if (reader.antennas.some((antenna) => antenna.side !== undefined)) {
    return direction === null ? 'undecided' : direction === 'loading' ? 'on' : 'off'
  }
  return milestone === 'loaded' ? 'on' : milestone === 'unloaded' ? 'off' : 'no_vehicle'
}
