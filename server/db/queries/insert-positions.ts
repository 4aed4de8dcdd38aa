import type { StoredFix } from '../../model.js'
import { numberArray, textArray } from '../pg-array.js'
import type { Sql } from '../sql.js'
import { runParts, type WritePart } from '../write-part.js'

/**
 * One statement for a whole batch. Plain INSERT by default: the in-memory dedupe keeps nearly all
 * redeliveries out, and ON CONFLICT's speculative insertion costs about a quarter more per row.
 * `skipDuplicates` is the fallback after a unique violation (see write-batch.ts).
 */
const INSERT = (skipDuplicates: boolean): string => `
INSERT INTO positions (device_id, time, lat, lon, speed, heading, accuracy, altitude, battery, seq, vehicle_id, received_at)
SELECT device_id, to_timestamp(ms / 1000.0), lat, lon, speed, heading, accuracy, altitude, battery, seq, vehicle_id,
       to_timestamp(received_ms / 1000.0)
  FROM unnest($1::text[], $2::float8[], $3::float8[], $4::float8[], $5::real[], $6::real[], $7::real[],
              $8::real[], $9::real[], $10::bigint[], $11::text[], $12::float8[])
    AS t(device_id, ms, lat, lon, speed, heading, accuracy, altitude, battery, seq, vehicle_id, received_ms)
${skipDuplicates ? 'ON CONFLICT DO NOTHING' : ''}
RETURNING 1`
const PLAIN = INSERT(false)
const SKIPPING_DUPLICATES = INSERT(true)

/** The batch's fixes as a part of its one statement (write-part.ts), counting those that were new. */
export function positionsPart (items: readonly StoredFix[], skipDuplicates = true): WritePart {
  const fixes = items.map((item) => item.fix)
  return {
    ctes: [{ name: 'positions_inserted', body: skipDuplicates ? SKIPPING_DUPLICATES : PLAIN }],
    counted: 'positions_inserted',
    params: [
      textArray(fixes.map((f) => f.deviceId)),
      numberArray(fixes.map((f) => f.time)),
      numberArray(fixes.map((f) => f.lat)),
      numberArray(fixes.map((f) => f.lon)),
      numberArray(fixes.map((f) => f.speed)),
      numberArray(fixes.map((f) => f.heading)),
      numberArray(fixes.map((f) => f.accuracy)),
      numberArray(fixes.map((f) => f.altitude)),
      numberArray(fixes.map((f) => f.battery)),
      numberArray(fixes.map((f) => f.seq)),
      textArray(items.map((item) => item.vehicleId)),
      numberArray(items.map((item) => item.receivedAt))
    ]
  }
}

/** Returns how many were new. */
export async function insertPositions (sql: Sql, items: readonly StoredFix[], skipDuplicates = true): Promise<number> {
  return await runParts(sql, [positionsPart(items, skipDuplicates)])
}
