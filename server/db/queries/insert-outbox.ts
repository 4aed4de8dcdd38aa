import type { MilestoneRow } from '../../pipeline/write-set.js'
import { MILESTONES, subtagOf } from '../../tracking/milestones.js'
import { numberArray, textArray } from '../pg-array.js'
import type { Sql } from '../sql.js'

/**
 * One webhook event per milestone, in the milestone's own transaction (the transactional outbox).
 * Milestones go in with ON CONFLICT DO NOTHING; events are keyed the same way (parcel, code,
 * time), so a redelivered milestone finds its event and adds none. The time is converted exactly
 * as insert-milestones.ts converts it, so the keys match.
 */
const SQL = `
WITH inserted AS (
  INSERT INTO webhook_outbox (id, type, parcel_id, occurred_at, payload)
  SELECT e.id, t.code, t.parcel_id, e.occurred_at, jsonb_build_object(
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
    FROM unnest($1::uuid[], $2::text[], $3::float8[], $4::text[], $5::float8[], $6::float8[], $7::text[], $8::text[],
                $9::text[], $10::jsonb[], $11::text[], $12::text[])
      AS t(parcel_id, code, ms, station_id, lat, lon, source, note, vehicle_id, detail, tag, subtag)
    CROSS JOIN LATERAL (SELECT gen_random_uuid() AS id, to_timestamp(t.ms / 1000.0) AS occurred_at) AS e
    JOIN parcels p ON p.id = t.parcel_id
    LEFT JOIN stations s ON s.id = t.station_id
  ON CONFLICT (parcel_id, type, occurred_at) DO NOTHING
  RETURNING 1
)
SELECT count(*)::int AS inserted FROM inserted`

export async function insertOutbox (sql: Sql, rows: readonly MilestoneRow[]): Promise<number> {
  const [result] = await sql.query<{ inserted: number }>(SQL, [
    textArray(rows.map((row) => row.parcelId)),
    textArray(rows.map((row) => row.code)),
    numberArray(rows.map((row) => row.time)),
    textArray(rows.map((row) => row.stationId)),
    numberArray(rows.map((row) => row.lat)),
    numberArray(rows.map((row) => row.lon)),
    textArray(rows.map((row) => row.source)),
    textArray(rows.map((row) => row.note)),
    textArray(rows.map((row) => row.vehicleId)),
    textArray(rows.map((row) => row.detail === null ? null : JSON.stringify(row.detail))),
    textArray(rows.map((row) => MILESTONES[row.code].tag)),
    textArray(rows.map((row) => subtagOf(row.code, row.detail)))
  ])
  return result?.inserted ?? 0
}
