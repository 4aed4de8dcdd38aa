import type { EventItem, FixItem, ScanItem } from './items.js'
import type { MilestoneCode, MilestoneDetail } from '../tracking/milestones.js'
import type { CarrierRef, ItemRef } from '../tracking/custody.js'

export interface MilestoneRow {
  parcelId: string
  code: MilestoneCode
  time: number
  stationId: string | null
  /** Where the parcel was: the station, the vehicle's fix, or the driver's fix. */
  lat: number | null
  lon: number | null
  source: 'rfid' | 'api' | 'driver' | 'geofence' | 'engine'
  deviceId: string | null
  /** The vehicle the parcel was on, or was loaded onto or unloaded from. */
  vehicleId: string | null
  detail: MilestoneDetail | null
  note: string | null
}

/** A vehicle entering (inside) or leaving a geofence, remembered across restarts. */
export interface FenceCrossing {
  vehicleId: string
  fenceId: string
  inside: boolean
  time: number
}

/** A parcel or container put into a carrier (null: taken off everything) at a time. */
export interface CustodyRow {
  item: ItemRef
  carrier: CarrierRef | null
  since: number
}

/** A message, or part of one, that was refused: kept with its payload so nothing acknowledged is lost. */
export interface RejectRow {
  deviceId: string
  topic: string
  receivedAt: number
  reasons: string[]
  detail: string
  payload: Buffer | null
}

/** Everything one message (or API call) adds to the database, committed together with its batch. */
export interface WriteSet {
  fixes: FixItem[]
  scans: ScanItem[]
  events: EventItem[]
  milestones: MilestoneRow[]
  custody: CustodyRow[]
  crossings: FenceCrossing[]
  rejects: RejectRow[]
}

export function emptyWriteSet (): WriteSet {
  return { fixes: [], scans: [], events: [], milestones: [], custody: [], crossings: [], rejects: [] }
}

export function rowCount (set: WriteSet): number {
  return set.fixes.length + set.scans.length + set.events.length + set.milestones.length + set.custody.length + set.crossings.length + set.rejects.length
}

/** One write set per row, for isolating a row the database refuses. */
export function splitRows (set: WriteSet): WriteSet[] {
  return [
    ...set.fixes.map((fix) => ({ ...emptyWriteSet(), fixes: [fix] })),
    ...set.scans.map((scan) => ({ ...emptyWriteSet(), scans: [scan] })),
    ...set.events.map((event) => ({ ...emptyWriteSet(), events: [event] })),
    ...set.milestones.map((milestone) => ({ ...emptyWriteSet(), milestones: [milestone] })),
    ...set.custody.map((custody) => ({ ...emptyWriteSet(), custody: [custody] })),
    ...set.crossings.map((crossing) => ({ ...emptyWriteSet(), crossings: [crossing] })),
    ...set.rejects.map((reject) => ({ ...emptyWriteSet(), rejects: [reject] }))
  ]
}

export function mergeWriteSets (sets: readonly WriteSet[]): WriteSet {
  if (sets.length === 1 && sets[0] !== undefined) return sets[0]
  const merged = emptyWriteSet()
  for (const set of sets) {
    for (const fix of set.fixes) merged.fixes.push(fix)
    for (const scan of set.scans) merged.scans.push(scan)
    for (const event of set.events) merged.events.push(event)
    for (const milestone of set.milestones) merged.milestones.push(milestone)
    for (const custody of set.custody) merged.custody.push(custody)
    for (const crossing of set.crossings) merged.crossings.push(crossing)
    for (const reject of set.rejects) merged.rejects.push(reject)
  }
  return merged
}
