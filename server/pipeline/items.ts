import type { DriverEvent, Fix, Scan } from '../../proto/types.js'
import type { Rejection } from '../../gateway/rejects.js'
import type { FixEffects } from '../engine/fixes.js'
import type { ScanIdentity } from '../engine/scans.js'
import type { CustodyRow, MilestoneRow, StoredEvent } from '../model.js'
import type { Direction } from '../tracking/rfid-smoothing.js'

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

export interface ScanItem extends ScanIdentity {
  scan: Scan
  receivedAt: number
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

export type EventItem = StoredEvent

export const DUPLICATE = 'duplicate' as const

/** undefined lets the item go on; anything else stops it here. */
export type Verdict = undefined | Rejection | typeof DUPLICATE

export interface Stage<I> {
  readonly name: string
  run: (item: I) => Verdict
}
