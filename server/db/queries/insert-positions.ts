import type { FixItem } from '../../pipeline/items.js'
import type { Sql } from '../sql.js'

/** One statement for a whole batch; a redelivered fix hits positions_once and is skipped. */
const SQL = `
WITH inserted AS (
INSERT INTO positions (device_id, time, lat, lon, speed, heading, accuracy, altitude, battery, seq, vehicle_id, received_at)
SELECT device_id, to_timestamp(ms / 1000.0), lat, lon, speed, heading, accuracy, altitude, battery, seq, vehicle_id,
       to_timestamp(received_ms / 1000.0)
  FROM unnest($1::text[], $2::float8[], $3::float8[], $4::float8[], $5::real[], $6::real[], $7::real[],
              $8::real[], $9::real[], $10::bigint[], $11::text[], $12::float8[])
    AS t(device_id, ms, lat, lon, speed, heading, accuracy, altitude, battery, seq, vehicle_id, received_ms)
ON CONFLICT DO NOTHING
RETURNING 1)
SELECT count(*)::int AS inserted FROM inserted`

/** Returns how many were new. */
export async function insertPositions (sql: Sql, items: readonly FixItem[]): Promise<number> {
  const n = items.length
  const columns = Array.from({ length: 12 }, () => new Array<unknown>(n))
  items.forEach(({ fix, vehicleId, receivedAt }, i) => {
    const values = [fix.deviceId, fix.time, fix.lat, fix.lon, fix.speed, fix.heading, fix.accuracy, fix.altitude,
      fix.battery, fix.seq, vehicleId, receivedAt]
    values.forEach((value, c) => { (columns[c] as unknown[])[i] = value ?? null })
  })
  const [row] = await sql.query<{ inserted: number }>(SQL, columns)
  return row?.inserted ?? 0
}
