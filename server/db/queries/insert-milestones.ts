import type { MilestoneRow } from '../../pipeline/write-set.js'
import type { Sql } from '../sql.js'
import { MILESTONE_ALIAS, MILESTONE_ARRAYS, milestoneColumns } from './milestone-columns.js'

/** Inserts milestones once each and moves each parcel's status to its newest milestone by time. */
const SQL = `
WITH inserted AS (
  INSERT INTO milestones (parcel_id, code, time, station_id, lat, lon, source, device_id, note, vehicle_id, detail)
  SELECT parcel_id, code, to_timestamp(ms / 1000.0), station_id, lat, lon, source, device_id, note, vehicle_id, detail
    FROM unnest(${MILESTONE_ARRAYS}) AS t(${MILESTONE_ALIAS})
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
  const [result] = await sql.query<{ inserted: number }>(SQL, milestoneColumns(rows))
  return result?.inserted ?? 0
}
