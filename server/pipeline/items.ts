import type { DriverEvent, Fix, Scan } from '../../proto/types.js'
import type { DeviceEvent } from '../../gateway/decoders/format.js'
import type { Rejection } from '../../gateway/rejects.js'
import type { Direction } from '../tracking/rfid-smoothing.js'
import type { CustodyRow, FenceCrossing, MilestoneRow } from './write-set.js'

/** A fix on its way through the pipeline; stages fill in what they attach. */
export interface FixItem {
  fix: Fix
  /** The device that sent it: fix.deviceId itself, or a network server reporting for it. */
  sourceId: string
  receivedAt: number
  vehicleId: string | null
  /** Older than the device's latest fix: stored as history, not pushed live. */
  late: boolean
  /** What a geofence crossing caused; null on nearly every fix, so none allocates. */
  effects: FixEffects | null
}

export interface FixEffects {
  milestones: MilestoneRow[]
  crossings: FenceCrossing[]
  events: EventItem[]
}

export interface ScanItem {
  scan: Scan
  receivedAt: number
  /** The GS1 identity the EPC encodes ("sscc:…", "sgtin:…"), or null for other schemes. */
  gs1Key: string | null
  stationId: string | null
  parcelId: string | null
  /** A container's tag, when the EPC is a container's rather than a parcel's. */
  containerId: string | null
  /** Set on the read that settled which way the tag passed a dock door's two sides. */
  direction: Direction | null
  milestones: MilestoneRow[]
  custody: CustodyRow[]
}

export interface DriverItem {
  event: DriverEvent
  receivedAt: number
  milestones: MilestoneRow[]
  custody: CustodyRow[]
}

export interface EventItem {
  event: DeviceEvent
  receivedAt: number
}

export const DUPLICATE = 'duplicate' as const

/** undefined lets the item go on; anything else stops it here. */
export type Verdict = undefined | Rejection | typeof DUPLICATE

export interface Stage<I> {
  readonly name: string
  run: (item: I) => Verdict
}
