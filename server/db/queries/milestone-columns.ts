import { numberArray, textArray } from '../pg-array.js'
import type { MilestoneRow } from '../../model.js'

/**
 * A batch of milestones as the array parameters $1…$11 of an unnest: the one layout the milestone
 * insert and its webhook outbox both read, so they cannot drift apart.
 */
export const MILESTONE_ARRAYS = '$1::uuid[], $2::text[], $3::float8[], $4::text[], $5::float8[], $6::float8[], $7::text[], $8::text[], $9::text[], $10::text[], $11::jsonb[]'
export const MILESTONE_ALIAS = 'parcel_id, code, ms, station_id, lat, lon, source, device_id, note, vehicle_id, detail'

export function milestoneColumns (rows: readonly MilestoneRow[]): string[] {
  return [
    textArray(rows.map((row) => row.parcelId)),
    textArray(rows.map((row) => row.code)),
    numberArray(rows.map((row) => row.time)),
    textArray(rows.map((row) => row.stationId)),
    numberArray(rows.map((row) => row.lat)),
    numberArray(rows.map((row) => row.lon)),
    textArray(rows.map((row) => row.source)),
    textArray(rows.map((row) => row.deviceId)),
    textArray(rows.map((row) => row.note)),
    textArray(rows.map((row) => row.vehicleId)),
    textArray(rows.map((row) => row.detail === null ? null : JSON.stringify(row.detail)))
  ]
}
