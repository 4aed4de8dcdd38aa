import type { Rejection } from '../../gateway/rejects.js'
import type { DriverEvent, Fix, Scan } from '../../proto/types.js'
import type {
  ActiveParcel, ContainerRecord, CustodyRow, DeviceRecord, FenceCrossing, GeofenceRecord, MilestoneRow, OpenException, ParcelRecord,
  ReaderRecord, StationRecord, VehicleRecord, VisitRow
} from '../model.js'
import { laneOf } from '../model.js'
import type { CarrierRef, ItemRef } from '../tracking/custody.js'
import { RAISED_CODES } from '../tracking/exceptions.js'
import { emptyLaneStats, recordDuration, recordTimeline, type LaneStats, type LaneTimeline } from '../tracking/lane-stats.js'
import type { MilestoneCode, MilestoneDetail } from '../tracking/milestones.js'
import type { Direction } from '../tracking/rfid-smoothing.js'
import { driverEffects, seenDriverEvent } from './drivers.js'
import { EtaTracker, type EtaOptions } from './etas.js'
import { ExceptionTracker, type ExceptionOptions, type ExceptionPlan } from './exceptions.js'
import { crossFences, isLate, seenFix, type FixEffects } from './fixes.js'
import { acceptRecorded, moveItem, recordMilestone, type Effects, type MoveContext, type MoveResult, type TrackObserver } from './milestones.js'
import { identify, scanEffects, smooth, type ScanIdentity } from './scans.js'
import type { Store } from './store.js'

/** The configuration tables the engine holds whole. */
export type ConfigKind = 'device' | 'station' | 'reader' | 'vehicle' | 'container' | 'geofence'

export interface EngineOptions {
  exceptions: ExceptionOptions
  eta: EtaOptions
}

/**
 * The one place that changes tracking state. It owns the store, and every command that changes
 * it: record a milestone, move custody, apply a fix, a scan or a driver event, raise or clear
 * exceptions, keep ETAs. A command changes the store and returns the rows to write; the caller
 * (a pipeline stage, a route, a sweep) hands them to the group commit, and never touches the
 * store itself. Loading at start and the configuration the API changes come in through here too.
 */
export class Engine {
  readonly laneStats: LaneStats = emptyLaneStats()
  readonly exceptions: ExceptionTracker
  readonly etas: EtaTracker
  /** How a changed track reaches the exception rules. */
  private readonly observer: TrackObserver

  constructor (readonly store: Store, options: EngineOptions) {
    this.exceptions = new ExceptionTracker(store, this.laneStats, options.exceptions)
    this.etas = new EtaTracker(store, this.laneStats, options.eta)
    this.observer = {
      onTrack: (parcel) => { this.exceptions.touched(parcel) },
      onEnded: (parcel) => { this.exceptions.touched(parcel) }
    }
  }

  // loading, at start

  /** Parcels on their way read back at start: each is looked at by the exception rules on the next passes. */
  load (parcels: readonly ActiveParcel[], now: number): void {
    for (const parcel of parcels) {
      this.store.parcels.admit(parcel)
      this.exceptions.dueAt(parcel.id, now)
    }
  }

  restoreCustody (rows: readonly CustodyRow[]): void {
    for (const { item, carrier, since } of rows) this.store.restoreCustody(item, { carrier, since })
  }

  /**
   * Custody another instance committed (a dock reader connected there loaded a van whose tracker
   * is connected here): taken where it is at least as new as what this instance knows, so a move
   * heard late never undoes a later one.
   */
  custodyCommittedElsewhere (rows: readonly CustodyRow[]): void {
    for (const { item, carrier, since } of rows) {
      const known = this.store.custody.entryOf(item)
      if (known !== undefined && known.since > since) continue
      this.store.restoreCustody(item, { carrier, since })
    }
  }

  /** Milestones another instance committed: onto the tracks of the parcels this one holds, and into what the lanes learn. */
  milestonesCommittedElsewhere (rows: readonly MilestoneRow[]): void {
    for (const row of rows) {
      const parcel = this.store.parcels.get(row.parcelId)
      if (parcel !== undefined) acceptRecorded(this.store, this.observer, parcel, row)
    }
    this.learn(rows)
  }

  restoreCrossings (rows: readonly FenceCrossing[]): void {
    for (const { vehicleId, fenceId, inside, time } of rows) this.store.fences.restore(vehicleId, fenceId, inside, time)
  }

  restorePosition (deviceId: string, time: number, lat: number, lon: number): void {
    this.store.devices.restoreLatest(deviceId, time, lat, lon)
  }

  restoreExceptions (rows: readonly OpenException[]): void {
    this.exceptions.restore(rows)
  }

  // configuration, after the database has it

  /**
   * Told of every change the API makes to the configuration, so other instances on the same
   * database can read it again (plugins/config-sync.ts). Changes read back from the database
   * (at start, or from another instance) go through `reload` and are not told again.
   */
  onConfigured: (kind: ConfigKind) => void = () => {}
  private reloading = false

  putDevice (device: DeviceRecord): void { this.store.config.putDevice(device); this.configured('device') }
  putStation (station: StationRecord): void { this.store.config.putStation(station); this.configured('station') }
  putReader (reader: ReaderRecord): void { this.store.config.putReader(reader); this.configured('reader') }
  putVehicle (vehicle: VehicleRecord): void { this.store.config.putVehicle(vehicle); this.configured('vehicle') }
  putContainer (container: ContainerRecord): void { this.store.config.putContainer(container); this.configured('container') }
  putFence (fence: GeofenceRecord): void { this.store.fences.put(fence); this.configured('geofence') }
  removeFence (id: string): void { this.store.fences.remove(id); this.configured('geofence') }

  /** Applies configuration read back from the database, without telling anyone it changed. */
  reload (apply: () => void): void {
    this.reloading = true
    try {
      apply()
    } finally {
      this.reloading = false
    }
  }

  private configured (kind: ConfigKind): void {
    if (!this.reloading) this.onConfigured(kind)
  }

  // parcels

  /** A parcel just registered: into the working set, looked at by the exception rules on the next pass. */
  admit (parcel: ParcelRecord): ActiveParcel {
    const active = compact(parcel)
    this.store.parcels.admit(active)
    this.exceptions.touched(active)
    return active
  }

  /**
   * A parcel by id or tracking number, if the engine holds it (on its way, or just ended). One it
   * does not hold the caller reads from the database and hands to `remember`.
   */
  find (idOrTrackingNumber: string): ActiveParcel | undefined {
    return this.store.parcels.find(idOrTrackingNumber)
  }

  /**
   * A parcel read back from the database, with where it rides: one on its way (another instance
   * registered it) joins the working set; one whose journey ended is kept a moment, for the late
   * word that brought it here (the cash collected after the delivery).
   */
  remember (parcel: ParcelRecord, custody: CustodyRow | undefined): ActiveParcel {
    const known = this.store.parcels.get(parcel.id)
    if (known !== undefined) return known
    const active = compact(parcel)
    if (custody !== undefined && this.store.custody.entryOf(custody.item) === undefined) {
      this.store.restoreCustody(custody.item, { carrier: custody.carrier, since: custody.since })
    }
    if (parcel.endedAt === null) {
      this.store.parcels.admit(active)
      this.exceptions.touched(active)
    } else {
      this.store.parcels.remember(active)
    }
    return active
  }

  /** A milestone stated outright (the API, another system); a final one takes the parcel off everything. */
  recordMilestone (parcel: ActiveParcel, code: MilestoneCode, context: MoveContext, detail: MilestoneDetail | null, at?: { lat: number, lon: number }): Effects {
    const vehicleId = this.store.custody.vehicleOf(`parcel:${parcel.id}`)
    return recordMilestone(this.store, this.observer, parcel, code, vehicleId, context, detail, at)
  }

  move (item: ItemRef, carrier: CarrierRef | null, context: MoveContext): MoveResult {
    return moveItem(this.store, this.observer, item, carrier, context)
  }

  // fixes

  seenFix (fix: Fix): boolean { return seenFix(this.store, fix) }
  isLate (fix: Fix): boolean { return isLate(this.store, fix) }
  vehicleOfDevice (deviceId: string): string | null { return this.store.config.vehicleOfDevice(deviceId)?.id ?? null }
  crossFences (fix: Fix, vehicleId: string, receivedAt: number): FixEffects | null { return crossFences(this.store, this.observer, fix, vehicleId, receivedAt) }

  // scans

  seenScan (scan: Scan): boolean {
    return this.store.devices.get(scan.readerId).seenScan(`${scan.time}:${scan.antenna}:${scan.epc}`)
  }

  identify (scan: Scan, gs1Key: string | null): ScanIdentity { return identify(this.store, scan, gs1Key) }
  smooth (scan: Scan, identity: ScanIdentity): Direction | null { return smooth(this.store, scan, identity) }
  scanEffects (scan: Scan, identity: ScanIdentity, direction: Direction | null): Effects {
    return scanEffects(this.store, this.observer, scan, identity, direction)
  }

  // driver events

  seenDriverEvent (event: DriverEvent): boolean { return seenDriverEvent(this.store, event) }
  driverEffects (event: DriverEvent): Effects | Rejection { return driverEffects(this.store, this.observer, event) }

  // tag visits

  /** The visits that ended by now (no read for a window), to be stored. */
  endVisits (now: number): VisitRow[] { return this.store.visits.drain(now) }
  /** Storing them failed: they wait for the next try. */
  requeueVisits (rows: readonly VisitRow[]): void { this.store.visits.requeue(rows) }

  // exceptions

  /** One pass of the exception rules over at most `limit` parcels that are due or changed, and every vehicle. */
  planExceptions (now: number, limit?: number): ExceptionPlan { return this.exceptions.plan(now, this.observer, limit) }

  // learning, from what was committed

  /** The lanes learn how long a step took from each committed milestone; a delivery teaches the whole journey. */
  learn (committed: readonly MilestoneRow[]): void {
    for (const milestone of committed) {
      if (RAISED_CODES.has(milestone.code)) continue
      const parcel = this.store.parcels.get(milestone.parcelId)
      if (parcel === undefined) continue
      const recent = parcel.track.recent
      const before = recent.findLast((m) => m.time < milestone.time && !RAISED_CODES.has(m.code))
      if (before !== undefined) recordDuration(this.laneStats, parcel.lane, before.code, milestone.time - before.time)
      if (milestone.code === 'delivered') recordTimeline(this.laneStats, { lane: parcel.lane, milestones: recent }, { steps: false })
    }
  }

  /** Journeys read back at start (the recently ended, and the steps of those on their way) teach the lanes. */
  learnJourneys (timelines: Iterable<LaneTimeline>): void {
    for (const timeline of timelines) recordTimeline(this.laneStats, timeline)
  }
}

/** The engine's working copy of a parcel: what its rules and the live paths read. */
export function compact (parcel: ParcelRecord): ActiveParcel {
  const { lat, lon } = parcel.destination
  return {
    id: parcel.id,
    trackingNumber: parcel.trackingNumber,
    epc: parcel.epc,
    gs1Key: parcel.gs1Key,
    lane: laneOf(parcel),
    destination: lat === null || lon === null ? null : { lat, lon },
    codCurrency: parcel.codCurrency,
    status: parcel.status,
    statusAt: parcel.statusAt.getTime(),
    track: parcel.track
  }
}
