import type { ActiveParcel, CustodyRow, MilestoneRow } from '../model.js'
import { parcelRef, type CarrierRef, type ItemRef, type MoveOutcome } from '../tracking/custody.js'
import { MILESTONES, type MilestoneCode, type MilestoneDetail } from '../tracking/milestones.js'
import { latestMilestone, nextOnRecorded, type ParcelTrack } from '../tracking/parcel-track.js'
import type { Store } from './store.js'

export interface MoveContext {
  time: number
  source: MilestoneRow['source']
  deviceId: string | null
  stationId: string | null
  note?: string | null
}

/** The rows a command asks to be written, in one commit. */
export interface Effects {
  milestones: MilestoneRow[]
  custody: CustodyRow[]
}

export interface MoveResult extends Effects {
  outcome: MoveOutcome
}

/** What changing a parcel's track does beside the track: the engine keeps its indexes in step. */
export interface TrackObserver {
  onTrack: (parcel: ActiveParcel) => void
  onEnded: (parcel: ActiveParcel) => void
}

/** Stores a parcel's new track; its status follows the latest milestone by time. */
export function applyTrack (parcel: ActiveParcel, track: ParcelTrack): void {
  parcel.track = track
  const latest = latestMilestone(track)
  if (latest !== undefined) {
    parcel.status = latest.code
    parcel.statusAt = latest.time
  }
}

/** Whether a journey has ended: a final milestone (delivered, returned) is on its track. */
export function hasEnded (track: ParcelTrack): boolean {
  return track.recent.some((milestone) => MILESTONES[milestone.code].final)
}

/**
 * Records a milestone on a parcel's track, as placeMilestone does. A final one (delivered,
 * returned) also takes the parcel off everything it rode in, and says it all: no "unloaded" beside
 * it. The parcel then leaves the working set, and so does its place in custody.
 */
export function recordMilestone (
  store: Store,
  observer: TrackObserver,
  parcel: ActiveParcel,
  code: MilestoneCode,
  vehicleId: string | null,
  context: MoveContext,
  detail: MilestoneDetail | null,
  at?: { lat: number, lon: number }
): Effects {
  const milestones = placeMilestone(store, observer, parcel, code, vehicleId, context, detail, at)
  if (!MILESTONES[code].final) return { milestones, custody: [] }
  const item = parcelRef(parcel.id)
  const moved = store.move(item, null, context.time).ok
  store.release(item)
  return { milestones, custody: moved ? [{ item, carrier: null, since: context.time }] : [] }
}

/**
 * Records one milestone on a parcel's track and returns its row, placed at the vehicle's position
 * when it rides one and at the station otherwise. A parcel whose journey this ends leaves the
 * working set.
 */
export function placeMilestone (
  store: Store,
  observer: TrackObserver,
  parcel: ActiveParcel,
  code: MilestoneCode,
  vehicleId: string | null,
  context: MoveContext,
  detail: MilestoneDetail | null,
  at?: { lat: number, lon: number }
): MilestoneRow[] {
  const { track, milestones } = nextOnRecorded(parcel.track, { code, time: context.time, stationId: context.stationId })
  changeTrack(store, observer, parcel, track)
  const station = context.stationId === null ? undefined : store.config.station(context.stationId)
  const place = at ?? store.vehiclePosition(vehicleId) ?? station
  return milestones.map((milestone) => ({
    parcelId: parcel.id,
    code: milestone.code,
    time: milestone.time,
    stationId: context.stationId,
    lat: place?.lat ?? null,
    lon: place?.lon ?? null,
    source: context.source,
    deviceId: context.deviceId,
    vehicleId,
    detail,
    note: context.note ?? null
  }))
}

/**
 * A milestone another instance recorded and committed, put on the parcel's track here so its
 * status and the exception rules see it too; once, as the database keeps one per parcel, code and time.
 */
export function acceptRecorded (store: Store, observer: TrackObserver, parcel: ActiveParcel, row: Pick<MilestoneRow, 'code' | 'time' | 'stationId'>): void {
  if (parcel.track.recent.some((m) => m.code === row.code && m.time === row.time)) return
  changeTrack(store, observer, parcel, nextOnRecorded(parcel.track, { code: row.code, time: row.time, stationId: row.stationId }).track)
}

/** Every change of a parcel's track goes through here, so the working set and the due index follow it. */
export function changeTrack (store: Store, observer: TrackObserver, parcel: ActiveParcel, track: ParcelTrack): void {
  if (track === parcel.track) return
  applyTrack(parcel, track)
  if (store.parcels.isActive(parcel.id) && hasEnded(track)) {
    store.parcels.end(parcel.id)
    observer.onEnded(parcel)
  } else {
    observer.onTrack(parcel)
  }
}

/**
 * Moves a parcel or container into a carrier (or off everything) and records, for each parcel
 * whose vehicle changed, "unloaded" from the old vehicle and "loaded" onto the new one, placed
 * where the vehicle is. The caller writes the returned rows in the same commit.
 */
export function moveItem (store: Store, observer: TrackObserver, item: ItemRef, carrier: CarrierRef | null, context: MoveContext): MoveResult {
  const outcome = store.move(item, carrier, context.time)
  if (!outcome.ok) return { outcome, milestones: [], custody: [] }
  const milestones: MilestoneRow[] = []
  for (const change of outcome.changes) {
    const parcel = store.parcels.get(change.parcelId)
    if (parcel === undefined) continue
    if (change.from !== null) milestones.push(...placeMilestone(store, observer, parcel, 'unloaded', change.from, context, null))
    if (change.to !== null) milestones.push(...placeMilestone(store, observer, parcel, 'loaded', change.to, context, null))
  }
  return { outcome, milestones, custody: [{ item, carrier, since: context.time }] }
}
