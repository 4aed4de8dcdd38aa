import type { Sql } from '../sql.js'
import { runParts, type WritePart } from '../write-part.js'
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
const CTES: WritePart['ctes'] = [
  { name: 'milestones_input', materialized: true, body: `SELECT * FROM unnest(${MILESTONE_ARRAYS}, $13::text[], $14::text[]) AS t(${MILESTONE_ALIAS}, tag, subtag)` },
  {
    name: 'milestones_inserted',
    body: `INSERT INTO milestones (parcel_id, code, time, station_id, lat, lon, source, device_id, note, vehicle_id, detail)
  SELECT parcel_id, code, to_timestamp(ms / 1000.0), station_id, lat, lon, source, device_id, note, vehicle_id, detail
    FROM milestones_input
  ON CONFLICT DO NOTHING
  RETURNING id, parcel_id, code, time`
  },
  { name: 'milestones_newest', body: 'SELECT DISTINCT ON (parcel_id) parcel_id, code, time FROM milestones_inserted ORDER BY parcel_id, time DESC, id DESC' },
  { name: 'milestones_ended', body: 'SELECT parcel_id, min(time) AS time FROM milestones_inserted WHERE code = ANY ($12::text[]) GROUP BY parcel_id' },
  {
    name: 'milestones_status',
    body: `UPDATE parcels p
     SET status = CASE WHEN p.status_at <= n.time THEN n.code ELSE p.status END,
         status_at = greatest(p.status_at, n.time),
         ended_at = CASE WHEN e.time IS NULL THEN p.ended_at ELSE least(coalesce(p.ended_at, e.time), e.time) END
    FROM milestones_newest n LEFT JOIN milestones_ended e USING (parcel_id)
   WHERE p.id = n.parcel_id AND (p.status_at <= n.time OR (e.time IS NOT NULL AND (p.ended_at IS NULL OR e.time < p.ended_at)))`
  },
  {
    name: 'milestones_events',
    body: outboxInsert(`(SELECT DISTINCT ON (i.parcel_id, i.code, i.time) t.* FROM milestones_inserted i
            JOIN milestones_input t ON t.parcel_id = i.parcel_id AND t.code = i.code AND to_timestamp(t.ms / 1000.0) = i.time) AS t`)
  }
]

const FINAL_CODES = textArray(MILESTONE_CODES.filter((code) => MILESTONES[code].final))

/** The batch's milestones as a part of its one statement (write-part.ts), counting those that were new. */
export function milestonesPart (rows: readonly MilestoneRow[]): WritePart {
  return { ctes: CTES, counted: 'milestones_inserted', params: [...milestoneColumns(rows), FINAL_CODES, ...tagColumns(rows)] }
}

export async function insertMilestones (sql: Sql, rows: readonly MilestoneRow[]): Promise<number> {
  return await runParts(sql, [milestonesPart(rows)])
}
