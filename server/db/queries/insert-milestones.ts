import type { Sql } from '../sql.js'
import { MILESTONE_CODES, MILESTONES } from '../../tracking/milestones.js'
import { textArray } from '../pg-array.js'
import { MILESTONE_ALIAS, MILESTONE_ARRAYS, milestoneColumns } from './milestone-columns.js'
import type { MilestoneRow } from '../../model.js'

/**
 * Inserts milestones once each, moves each parcel's status to its newest milestone by time, and
 * marks when its journey ended: its earliest final milestone ($12: the final codes).
 */
const SQL = `
WITH inserted AS (
  INSERT INTO milestones (parcel_id, code, time, station_id, lat, lon, source, device_id, note, vehicle_id, detail)
  SELECT parcel_id, code, to_timestamp(ms / 1000.0), station_id, lat, lon, source, device_id, note, vehicle_id, detail
    FROM unnest(${MILESTONE_ARRAYS}) AS t(${MILESTONE_ALIAS})
  ON CONFLICT DO NOTHING
  RETURNING id, parcel_id, code, time
), newest AS (
  SELECT DISTINCT ON (parcel_id) parcel_id, code, time FROM inserted ORDER BY parcel_id, time DESC, id DESC
), ended AS (
  SELECT parcel_id, min(time) AS time FROM inserted WHERE code = ANY ($12::text[]) GROUP BY parcel_id
), status AS (
  UPDATE parcels p
     SET status = CASE WHEN p.status_at <= n.time THEN n.code ELSE p.status END,
         status_at = greatest(p.status_at, n.time),
         ended_at = CASE WHEN e.time IS NULL THEN p.ended_at ELSE least(coalesce(p.ended_at, e.time), e.time) END
    FROM newest n LEFT JOIN ended e USING (parcel_id)
   WHERE p.id = n.parcel_id AND (p.status_at <= n.time OR (e.time IS NOT NULL AND (p.ended_at IS NULL OR e.time < p.ended_at)))
)
SELECT count(*)::int AS inserted FROM inserted`

const FINAL_CODES = textArray(MILESTONE_CODES.filter((code) => MILESTONES[code].final))

export async function insertMilestones (sql: Sql, rows: readonly MilestoneRow[]): Promise<number> {
  const [result] = await sql.query<{ inserted: number }>(SQL, [...milestoneColumns(rows), FINAL_CODES])
  return result?.inserted ?? 0
}
