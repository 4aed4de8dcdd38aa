import type { StoredEvent } from '../../model.js'
import { numberArray, textArray } from '../pg-array.js'
import type { Sql } from '../sql.js'
import { runParts, type WritePart } from '../write-part.js'

const SQL = `
INSERT INTO device_events (time, device_id, type, detail, received_at)
SELECT to_timestamp(ms / 1000.0), device_id, type, detail, to_timestamp(received_ms / 1000.0)
  FROM unnest($1::float8[], $2::text[], $3::text[], $4::jsonb[], $5::float8[]) AS t(ms, device_id, type, detail, received_ms)
ON CONFLICT DO NOTHING`

/** The batch's device events as a part of its one statement (write-part.ts). */
export function eventsPart (items: readonly StoredEvent[]): WritePart {
  return { ctes: [{ name: 'events_inserted', body: SQL }], params: [
    numberArray(items.map(({ event }) => event.time)),
    textArray(items.map(({ event }) => event.deviceId)),
    textArray(items.map(({ event }) => event.type)),
    textArray(items.map(({ event }) => JSON.stringify(event.detail))),
    numberArray(items.map(({ receivedAt }) => receivedAt))
  ] }
}

export async function insertEvents (sql: Sql, items: readonly StoredEvent[]): Promise<void> {
  await runParts(sql, [eventsPart(items)])
}
