import type { Sql } from '../sql.js'

export interface StoredEvent {
  time: Date
  type: string
  detail: Record<string, unknown>
  receivedAt: Date
}

/** A device's newest events first: offline, geofence enter/leave. */
export async function selectDeviceEvents (sql: Sql, deviceId: string, limit: number): Promise<StoredEvent[]> {
  const rows = await sql.query<{ time: Date, type: string, detail: Record<string, unknown>, received_at: Date }>(
    'SELECT time, type, detail, received_at FROM device_events WHERE device_id = $1 ORDER BY time DESC LIMIT $2',
    [deviceId, limit])
  return rows.map((row) => ({ time: row.time, type: row.type, detail: row.detail, receivedAt: row.received_at }))
}
