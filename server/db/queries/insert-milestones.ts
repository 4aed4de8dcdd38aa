import type { MilestoneRow } from '../../pipeline/write-set.js'
import { numberArray, textArray } from '../pg-array.js'
import type { Sql } from '../sql.js'

/** Inserts milestones once each and moves each parcel's status to its newest milestone by time. */
const SQL = `
WITH inserted AS (
  INSERT INTO milestones (parcel_id, code, time, station_id, lat, lon, source, device_id, note, vehicle_id, detail)
  SELECT parcel_id, code, to_timestamp(ms / 1000.0), station_id, lat, lon, source, device_id, note, vehicle_id, detail
    FROM unnest($1::uuid[], $2::text[], $3::float8[], $4::text[], $5::float8[], $6::float8[], $7::text[], $8::text[], $9::text[],
                $10::text[], $11::jsonb[])
      AS t(parcel_id, code, ms, station_id, lat, lon, source, device_id, note, vehicle_id, detail)
  ON CONFLICT DO NOTHING
  RETURNING id, parcel_id, code, time
), newest AS (
  SELECT DISTINCT ON (parcel_id) parcel_id, code, time FROM inserted ORDER BY parcel_id, time DESC, id DESC
), status AS (
  UPDATE parcels SET status = newest.code, status_at = newest.time
    FROM newest
   WHERE parcels.id = newest.parcel_id AND parcels.status_at <= newest.time
)
SELECT count(*)::int AS inserted FROM inserted`

export async function insertMilestones (sql: Sql, rows: readonly MilestoneRow[]): Promise<number> {
  const [result] = await sql.query<{ inserted: number }>(SQL, [
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
  ])
  return result?.inserted ?? 0
}
