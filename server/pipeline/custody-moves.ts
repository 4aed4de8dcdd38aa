import type { DeviceStateStore } from '../state/device-state.js'
import { applyTrack } from '../state/parcel-state.js'
import type { Registry } from '../state/registry.js'
import type { CarrierRef, ItemRef, MoveOutcome } from '../tracking/custody.js'
import type { MilestoneCode, MilestoneDetail } from '../tracking/milestones.js'
import { nextOnRecorded } from '../tracking/parcel-track.js'
import type { CustodyRow, MilestoneRow } from './write-set.js'

export interface MoveContext {
  time: number
  source: MilestoneRow['source']
  deviceId: string | null
  stationId: string | null
  note?: string | null
}

export interface MoveResult {
  outcome: MoveOutcome
  milestones: MilestoneRow[]
  custody: CustodyRow[]
}

/**
 * Moves a parcel or container into a carrier (or off everything) and records, for each parcel
 * whose vehicle changed, "unloaded" from the old vehicle and "loaded" onto the new one, placed
 * where the vehicle is. The caller writes the returned rows in the same commit.
 */
export function moveItem (registry: Registry, deviceState: DeviceStateStore, item: ItemRef, carrier: CarrierRef | null, context: MoveContext): MoveResult {
  const outcome = registry.custody.move(item, carrier, context.time)
  if (!outcome.ok) return { outcome, milestones: [], custody: [] }
  const milestones: MilestoneRow[] = []
  for (const change of outcome.changes) {
    if (change.from !== null) milestones.push(...record(registry, deviceState, change.parcelId, 'unloaded', change.from, context, null))
    if (change.to !== null) milestones.push(...record(registry, deviceState, change.parcelId, 'loaded', change.to, context, null))
  }
  return { outcome, milestones, custody: [{ item, carrier, since: context.time }] }
}

/** Where a vehicle is now, and since when: its tracker's newest fix. */
export function vehiclePosition (registry: Registry, deviceState: DeviceStateStore, vehicleId: string | null): { lat: number, lon: number, time: number } | undefined {
  const deviceId = vehicleId === null ? null : registry.vehicles.get(vehicleId)?.deviceId ?? null
  return deviceId === null ? undefined : deviceState.positionOf(deviceId)
}

/**
 * Records one milestone on a parcel's track and returns its row, placed at the vehicle's position
 * when it rides one and at the station otherwise.
 */
export function record (
  registry: Registry,
  deviceState: DeviceStateStore,
  parcelId: string,
  code: MilestoneCode,
  vehicleId: string | null,
  context: MoveContext,
  detail: MilestoneDetail | null,
  at?: { lat: number, lon: number }
): MilestoneRow[] {
  const parcel = registry.parcels.get(parcelId)
  if (parcel === undefined) return []
  const { track, milestones } = nextOnRecorded(parcel.track, { code, time: context.time, stationId: context.stationId })
  applyTrack(parcel, track)
  const station = context.stationId === null ? undefined : registry.stations.get(context.stationId)
  const place = at ?? vehiclePosition(registry, deviceState, vehicleId) ?? station
  return milestones.map((milestone) => ({
    parcelId,
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
