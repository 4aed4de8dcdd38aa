import type { Sql } from '../sql.js'

export interface StoredReject {
  receivedAt: Date
  deviceId: string
  topic: string
  reasons: string[]
  detail: string
  payloadBase64: string | null
  payloadBytes: number
}

interface RejectRow {
  received_at: Date
  device_id: string
  topic: string
  reasons: string[]
  detail: string
  payload: Buffer | null
}

/** The newest refused messages, optionally of one device. */
export async function selectRejects (sql: Sql, deviceId: string | undefined, limit: number): Promise<StoredReject[]> {
  const rows = await sql.query<RejectRow>(
    `SELECT received_at, device_id, topic, reasons, detail, payload FROM ingest_rejects
      WHERE $1::text IS NULL OR device_id = $1
      ORDER BY received_at DESC LIMIT $2`,
    [deviceId ?? null, limit])
  return rows.map((row) => ({
    receivedAt: row.received_at,
    deviceId: row.device_id,
    topic: row.topic,
    reasons: row.reasons,
    detail: row.detail,
    payloadBase64: row.payload?.toString('base64') ?? null,
    payloadBytes: row.payload?.length ?? 0
  }))
}
