import type { DeviceEvent, DeviceFormat } from '../gateway/decoders/format.js'
import type { RejectReason } from '../gateway/rejects.js'
import type { LiveFramePosition } from '../proto/live-codec.js'
import type { Fix, Scan } from '../proto/types.js'
import type { CarrierRef, ItemRef } from './tracking/custody.js'
import type { Geofence } from './tracking/geofence.js'
import type { MilestoneCode, MilestoneDetail, ScanMilestoneCode } from './tracking/milestones.js'
import type { ParcelTrack } from './tracking/parcel-track.js'
import type { VisitEnd } from './tracking/rfid-smoothing.js'

/**
 * The ground floor: the domain's records and the rows a change writes. Every layer reads these
 * (db, live, engine, pipeline, routes), so they live here and import only vocabulary: the wire
 * contract (proto/), the device formats, and the pure tracking definitions of milestone codes,
 * custody references, geofence shapes and parcel tracks, none of which imports anything above.
 */

/** A network server (The Things Stack, ChirpStack) reports for the LoRaWAN trackers behind it. */
export type DeviceKind = 'tracker' | 'reader' | 'network_server'

export interface DeviceRecord {
  id: string
  kind: DeviceKind
  format: DeviceFormat
  /** The tenant. A device only ever reaches its own topics, and a network server only its owner's trackers. */
  owner: string
  /** A network server's application (TTS `app@tenant`, ChirpStack application id); null otherwise. */
  scope: string | null
  name: string | null
  secretHash: string
  disabled: boolean
  createdAt: Date
}

export interface StationRecord {
  id: string
  name: string
  kind: string
  lat: number
  lon: number
  city: string | null
  country: string | null
  timezone: string | null
  createdAt: Date
}

export interface AntennaMapping {
  port: number
  milestone: ScanMilestoneCode
  /** null: the reader's station */
  stationId: string | null
  /** A dock door's warehouse-side (inner) or truck-side (outer) antenna: the order a tag passes them says loading or unloading. */
  side?: 'inner' | 'outer'
}

export interface ReaderRecord {
  deviceId: string
  /** null for a reader mounted in a vehicle */
  stationId: string | null
  milestone: ScanMilestoneCode
  name: string | null
  /** Ports with a meaning of their own, e.g. the inside antenna of a dock door means "loaded". */
  antennas: AntennaMapping[]
  /** The vehicle at this dock door: tags read as "loaded" go onto it, as "unloaded" come off it. */
  vehicleId: string | null
  /** Mounted in `vehicleId`: every tag it reads is aboard. */
  mounted: boolean
  createdAt: Date
}

export type ContainerKind = 'tote' | 'bag' | 'pallet' | 'uld' | 'container'

export interface ContainerRecord {
  id: string
  kind: ContainerKind
  name: string | null
  epc: string | null
  gs1Key: string | null
  createdAt: Date
}

/** Who drives a vehicle now, and since when. */
export interface Driver {
  name: string
  phone: string | null
  since: Date
}

export interface VehicleRecord {
  id: string
  name: string
  plate: string | null
  deviceId: string | null
  driver: Driver | null
  createdAt: Date
}

export interface Destination {
  name: string | null
  address: string | null
  city: string
  postcode: string | null
  country: string
  lat: number | null
  lon: number | null
}

export interface ParcelRecord {
  id: string
  trackingNumber: string
  epc: string | null
  /** "sscc:<18 digits>" or "sgtin:<GTIN-14>.<serial>": matches any tag that encodes it. */
  gs1Key: string | null
  token: string
  /** Whose parcel it is; null for the operator's own (registered before merchants existed, or by ops). */
  merchantId: string | null
  status: MilestoneCode
  statusAt: Date
  destination: Destination
  codAmount: string | null
  codCurrency: string | null
  /** ISO 3166-1 alpha-2; with the destination country it names the lane. */
  originCountry: string | null
  lastMilePartner: string | null
  /** The delivery date promised to the buyer. */
  promisedBy: Date | null
  createdAt: Date
  /** When its journey ended (delivered, returned); null while it is on its way. */
  endedAt: Date | null
  track: ParcelTrack
}

/** The lane a parcel travels: how long its steps normally take is learnt per lane. */
export function laneOf (parcel: Pick<ParcelRecord, 'originCountry' | 'destination'>): string {
  return `${parcel.originCountry ?? '*'}>${parcel.destination.country}`
}

/**
 * What the tracking engine keeps in memory of a parcel on its way: what its rules and the live
 * paths read, and no more (no name, address or amounts: those are read from the database when a
 * person asks). A million of these fit in a few hundred MiB.
 */
export interface ActiveParcel {
  readonly id: string
  readonly trackingNumber: string
  readonly epc: string | null
  readonly gs1Key: string | null
  readonly lane: string
  /** The buyer's address as a point, when the parcel was registered with one. */
  readonly destination: { lat: number, lon: number } | null
  readonly codCurrency: string | null
  status: MilestoneCode
  /** ms since the Unix epoch */
  statusAt: number
  track: ParcelTrack
}

export type GeofenceKind = 'station' | 'customs' | 'delivery_area' | 'other'

export interface GeofenceRecord {
  id: string
  name: string
  kind: GeofenceKind
  /** The station the fence surrounds: its milestones are recorded there. */
  stationId: string | null
  shape: Geofence['shape']
  /** The milestone for every parcel aboard a vehicle entering (leaving) it; null for none. */
  onEnter: MilestoneCode | null
  onExit: MilestoneCode | null
  createdAt: Date
}

/** What a device has sent and how much of it was refused, by reason: kept across restarts. */
export interface DeviceCounters {
  lastSeenAt: number | null
  messages: number
  fixes: number
  scans: number
  events: number
  duplicates: number
  rejects: Partial<Record<RejectReason, number>>
}

/** A finished visit of a tag at a reader: one row however many reads it took. */
export interface VisitRow extends VisitEnd {
  readerId: string
  epc: string
  parcelId: string | null
  stationId: string | null
}

/** What the ops desk is told to act on: a parcel, a vehicle or a reader's port that is not as it should be. */
export const EXCEPTION_KINDS = ['stalled', 'suspected_lost', 'customs_dwell', 'vehicle_silent', 'antenna_disconnected', 'cash_discrepancy'] as const
export type ExceptionKind = typeof EXCEPTION_KINDS[number]

export interface NewException {
  kind: ExceptionKind
  parcelId: string | null
  vehicleId: string | null
  openedAt: number
  detail: Record<string, unknown>
}

export interface OpenException {
  id: string
  kind: ExceptionKind
  parcelId: string | null
  vehicleId: string | null
}

/** One milestone of a parcel's timeline, with the place it happened. */
export interface TimelineEntry {
  id: string
  code: MilestoneCode
  time: Date
  source: string
  deviceId: string | null
  note: string | null
  lat: number | null
  lon: number | null
  vehicleId: string | null
  detail: MilestoneDetail | null
  station: { id: string, name: string, city: string | null, country: string | null, timezone: string | null } | null
}

/** A vehicle's newest position, as the live feeds carry it (the wire contract defines it). */
export type LivePosition = LiveFramePosition

/** When a parcel should arrive: from its van's route while out for delivery, from its lane before. */
export interface ParcelEta {
  parcelId: string
  /** ms since the Unix epoch */
  eta: number
  basis: 'route' | 'lane'
}

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

/** A fix as it is stored: with the vehicle it was on and when it arrived. */
export interface StoredFix {
  fix: Fix
  vehicleId: string | null
  receivedAt: number
}

/** A tag read as it is stored: with where it was read and what it identified. */
export interface StoredScan {
  scan: Scan
  receivedAt: number
  /** The GS1 identity the EPC encodes ("sscc:…", "sgtin:…"), or null for other schemes. */
  gs1Key: string | null
  stationId: string | null
  parcelId: string | null
}

export interface StoredEvent {
  event: DeviceEvent
  receivedAt: number
}

/** What a change adds to the database (a message, an API call, a sweep), committed together with its batch. */
export interface WriteSet {
  fixes: StoredFix[]
  scans: StoredScan[]
  events: StoredEvent[]
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
