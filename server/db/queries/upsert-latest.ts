import { numberArray, textArray } from '../pg-array.js'
import type { Sql } from '../sql.js'
import type { LivePosition } from '../../model.js'

/** Moves each device's latest position forward; an older one (from another instance, say) never wins. */
const SQL = `
INSERT INTO device_latest (device_id, time, lat, lon, speed, heading, vehicle_id, received_at)
SELECT device_id, to_timestamp(ms / 1000.0), lat, lon, speed, heading, vehicle_id, now()
  FROM unnest($1::text[], $2::float8[], $3::float8[], $4::float8[], $5::real[], $6::real[], $7::text[])
    AS t(device_id, ms, lat, lon, speed, heading, vehicle_id)
ON CONFLICT (device_id) DO UPDATE SET
  time = excluded.time, lat = excluded.lat, lon = excluded.lon, speed = excluded.speed, heading = excluded.heading,
  vehicle_id = excluded.vehicle_id, received_at = excluded.received_at
WHERE device_latest.time < excluded.time`

export async function upsertLatest (sql: Sql, positions: readonly LivePosition[]): Promise<void> {
  await sql.query(SQL, [
    textArray(positions.map((p) => p.deviceId)),
    numberArray(positions.map((p) => p.time)),
    numberArray(positions.map((p) => p.lat)),
    numberArray(positions.map((p) => p.lon)),
    numberArray(positions.map((p) => p.speed)),
    numberArray(positions.map((p) => p.heading)),
    textArray(positions.map((p) => p.vehicleId))
  ])
}
