import type { Sql } from '../sql.js'
import { MILESTONE_CODES, MILESTONES } from '../../tracking/milestones.js'
import { textArray } from '../pg-array.js'
import { outboxInsert, tagColumns } from './insert-outbox.js'
import { MILESTONE_ALIAS, MILESTONE_ARRAYS, milestoneColumns } from './milestone-columns.js'
import type { MilestoneRow } from '../../model.js'

/**
 * Inserts milestones once each, with one webhook event for each milestone it did insert (the
 * transactional outbox, in the same statement: one round trip fewer a batch, and a redelivered
 * milestone finds itself and makes no event), moves each parcel's status to its newest milestone
 * by time, and marks when its journey ended: its earliest final milestone ($12: the final codes).
 */
const SQL = `
WITH input AS MATERIALIZED (
  SELECT * FROM unnest(${MILESTONE_ARRAYS}, $13::text[], $14::text[]) AS t(${MILESTONE_ALIAS}, tag, subtag)
), inserted AS (
  INSERT INTO milestones (parcel_id, code, time, station_id, lat, lon, source, device_id, note, vehicle_id, detail)
  SELECT parcel_id, code, to_timestamp(ms / 1000.0), station_id, lat, lon, source, device_id, note, vehicle_id, detail
    FROM input
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
), events AS (${outboxInsert(`(SELECT DISTINCT ON (i.parcel_id, i.code, i.time) t.* FROM inserted i
            JOIN input t ON t.parcel_id = i.parcel_id AND t.code = i.code AND to_timestamp(t.ms / 1000.0) = i.time) AS t`)}
)
SELECT count(*)::int AS inserted FROM inserted`

const FINAL_CODES = textArray(MILESTONE_CODES.filter((code) => MILESTONES[code].final))

export async function insertMilestones (sql: Sql, rows: readonly MilestoneRow[]): Promise<number> {
  const [result] = await sql.query<{ inserted: number }>(SQL, [...milestoneColumns(rows), FINAL_CODES, ...tagColumns(rows)])
  return result?.inserted ?? 0
}
