import type { HealthAspect, HealthRow } from '../../tracking/device-health.js'
import { numberArray, textArray } from '../pg-array.js'
import type { Sql } from '../sql.js'

/** Newest wins: a late message about a port never undoes a newer one. Rows must be unique by key. */
const UPSERT = `
INSERT INTO device_health (device_id, aspect, key, value, since)
SELECT device_id, aspect, key, value, to_timestamp(ms / 1000.0)
  FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::float8[]) AS t(device_id, aspect, key, value, ms)
ON CONFLICT (device_id, aspect, key) DO UPDATE SET value = excluded.value, since = excluded.since
WHERE device_health.since <= excluded.since`

export async function upsertDeviceHealth (sql: Sql, rows: readonly HealthRow[]): Promise<void> {
  await sql.query(UPSERT, [
    textArray(rows.map((row) => row.deviceId)),
    textArray(rows.map((row) => row.aspect)),
    textArray(rows.map((row) => row.key)),
    textArray(rows.map((row) => JSON.stringify(row.value))),
    numberArray(rows.map((row) => row.since))
  ])
}

/**
 * For each antenna port the batch spoke of, its stored (newest) state decides: disconnected opens
 * an antenna_disconnected exception of the reader (one per port), connected clears it.
 */
const ANTENNA_EXCEPTIONS = `
WITH touched AS (
  SELECT DISTINCT device_id, port FROM unnest($1::text[], $2::text[]) AS t(device_id, port)
), state AS (
  SELECT h.device_id, h.key AS port, (h.value->>'connected')::boolean AS connected, h.since
    FROM device_health h JOIN touched t ON t.device_id = h.device_id AND t.port = h.key
   WHERE h.aspect = 'antenna'
), opened AS (
  INSERT INTO exceptions (kind, device_id, opened_at, detail)
  SELECT 'antenna_disconnected', device_id, since, jsonb_build_object('port', port) FROM state WHERE NOT connected
  ON CONFLICT DO NOTHING
  RETURNING 1
), cleared AS (
  UPDATE exceptions e SET cleared_at = s.since
    FROM state s
   WHERE s.connected AND e.kind = 'antenna_disconnected' AND e.device_id = s.device_id
     AND e.detail->>'port' = s.port AND e.cleared_at IS NULL
  RETURNING 1
)
SELECT (SELECT count(*) FROM opened)::int AS opened, (SELECT count(*) FROM cleared)::int AS cleared`

export async function applyAntennaExceptions (sql: Sql, ports: ReadonlyArray<{ deviceId: string, port: string }>): Promise<void> {
  await sql.query(ANTENNA_EXCEPTIONS, [textArray(ports.map((p) => p.deviceId)), textArray(ports.map((p) => p.port))])
}

export interface StoredHealth {
  deviceId: string
  aspect: HealthAspect
  key: string
  value: Record<string, unknown>
  since: Date
}

export async function selectDeviceHealth (sql: Sql, deviceIds: readonly string[]): Promise<StoredHealth[]> {
  if (deviceIds.length === 0) return []
  const rows = await sql.query<{ device_id: string, aspect: HealthAspect, key: string, value: Record<string, unknown>, since: Date }>(
    'SELECT device_id, aspect, key, value, since FROM device_health WHERE device_id = ANY($1::text[]) ORDER BY device_id, aspect, key',
    [textArray(deviceIds)])
  return rows.map((row) => ({ deviceId: row.device_id, aspect: row.aspect, key: row.key, value: row.value, since: row.since }))
}
