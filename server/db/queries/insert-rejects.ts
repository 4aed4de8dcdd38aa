import type { Sql } from '../sql.js'
import { runParts, type WritePart } from '../write-part.js'
import type { RejectRow } from '../../model.js'

const SQL = `
INSERT INTO ingest_rejects (received_at, device_id, topic, reasons, detail, payload)
SELECT to_timestamp(received_ms / 1000.0), device_id, topic, string_to_array(reasons, ','), detail, payload
  FROM unnest($1::float8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[])
    AS t(received_ms, device_id, topic, reasons, detail, payload)`

/** The batch's refused messages as a part of its one statement (write-part.ts). */
export function rejectsPart (rows: readonly RejectRow[]): WritePart {
  return { ctes: [{ name: 'rejects_inserted', body: SQL }], params: [
    rows.map((row) => row.receivedAt),
    rows.map((row) => row.deviceId),
    rows.map((row) => withoutNul(row.topic)),
    rows.map((row) => row.reasons.join(',')),
    rows.map((row) => withoutNul(row.detail)),
    rows.map((row) => row.payload)
  ] }
}

export async function insertRejects (sql: Sql, rows: readonly RejectRow[]): Promise<void> {
  await runParts(sql, [rejectsPart(rows)])
}

/** PostgreSQL text cannot hold U+0000, and a topic or an error detail can carry one from a device. */
function withoutNul (text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text
}
