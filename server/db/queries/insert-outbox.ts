import { MILESTONES, subtagOf } from '../../tracking/milestones.js'
import { textArray } from '../pg-array.js'
import type { Sql } from '../sql.js'
import { runParts, type WritePart } from '../write-part.js'
import { MILESTONE_ALIAS, MILESTONE_ARRAYS, milestoneColumns } from './milestone-columns.js'
import type { MilestoneRow } from '../../model.js'

/**
 * One webhook event per milestone, in the milestone's own transaction (the transactional outbox).
 * Milestones go in with ON CONFLICT DO NOTHING; events are keyed the same way (parcel, code,
 * time), so a redelivered milestone finds its event and adds none. The time is converted exactly
 * as insert-milestones.ts converts it, so the keys match.
 *
 * An event no enabled subscription takes is not written at all: the dispatcher would have marked
 * it dispatched without sending it anywhere, and no one reads it after. When vans cross geofences
 * with parcels aboard, that is thousands of rows a second (each with its payload and two index
 * entries) that no merchant asked for.
 *
 * The insert reads from `source`, a FROM item `t` with the milestone columns (MILESTONE_ALIAS)
 * and each one's `tag` and `subtag`: here from the arrays, and in insert-milestones.ts from the
 * milestones that statement has just inserted.
 */
export function outboxInsert (source: string): string {
  return `
  INSERT INTO webhook_outbox (id, type, parcel_id, occurred_at, payload)
  SELECT e.id, t.code, t.parcel_id, e.occurred_at,
         jsonb_build_object(
           'id', e.id,
           'type', t.code,
           'tag', t.tag,
           'subtag', t.subtag,
           'occurredAt', to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
           'parcel', jsonb_build_object('id', p.id, 'trackingNumber', p.tracking_number),
           'station', CASE WHEN t.station_id IS NULL THEN NULL ELSE jsonb_build_object(
             'id', t.station_id, 'name', s.name, 'city', s.city, 'country', s.country, 'timezone', s.timezone) END,
           'lat', t.lat,
           'lon', t.lon,
           'source', t.source,
           'note', t.note,
           'vehicleId', t.vehicle_id,
           'detail', t.detail)
    FROM ${source}
    CROSS JOIN LATERAL (SELECT gen_random_uuid() AS id, to_timestamp(t.ms / 1000.0) AS occurred_at) AS e
    JOIN parcels p ON p.id = t.parcel_id
    LEFT JOIN stations s ON s.id = t.station_id
   WHERE EXISTS (SELECT 1 FROM webhook_subscriptions sub WHERE sub.enabled AND sub.event_types && ARRAY[t.code, '*'])
  ON CONFLICT (parcel_id, type, occurred_at) DO NOTHING`
}

/** $12 and $13 after the milestone arrays: each milestone's tag and subtag. */
export function tagColumns (rows: readonly MilestoneRow[]): string[] {
  return [
    textArray(rows.map((row) => MILESTONES[row.code].tag)),
    textArray(rows.map((row) => subtagOf(row.code, row.detail)))
  ]
}

const CTES: WritePart['ctes'] = [{
  name: 'outbox_inserted',
  body: `${outboxInsert(`unnest(${MILESTONE_ARRAYS}, $12::text[], $13::text[]) AS t(${MILESTONE_ALIAS}, tag, subtag)`)}
  RETURNING 1`
}]

/** Webhook events for milestones written elsewhere (a parcel's registration); how many were new. */
export async function insertOutbox (sql: Sql, rows: readonly MilestoneRow[]): Promise<number> {
  return await runParts(sql, [{ ctes: CTES, counted: 'outbox_inserted', params: [...milestoneColumns(rows), ...tagColumns(rows)] }])
}
