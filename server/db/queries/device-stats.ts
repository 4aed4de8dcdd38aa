import type { DeviceCounters } from '../../model.js'
import { numberArray, textArray } from '../pg-array.js'
import type { Sql } from '../sql.js'

interface StatsRow {
  device_id: string
  last_seen_at: Date | null
  messages: string
  fixes: string
  scans: string
  events: string
  duplicates: string
  rejects: DeviceCounters['rejects']
}

export async function selectDeviceStats (sql: Sql): Promise<Array<[string, DeviceCounters]>> {
  const rows = await sql.query<StatsRow>(
    'SELECT device_id, last_seen_at, messages, fixes, scans, events, duplicates, rejects FROM device_stats')
  return rows.map((row) => [row.device_id, {
    lastSeenAt: row.last_seen_at?.getTime() ?? null,
    messages: Number(row.messages),
    fixes: Number(row.fixes),
    scans: Number(row.scans),
    events: Number(row.events),
    duplicates: Number(row.duplicates),
    rejects: row.rejects
  }])
}

/** Overwrites with the in-memory totals: the process holding the counters is the only writer. */
export async function upsertDeviceStats (sql: Sql, entries: ReadonlyArray<[string, DeviceCounters]>): Promise<void> {
  await sql.query(
    `INSERT INTO device_stats (device_id, last_seen_at, messages, fixes, scans, events, duplicates, rejects, updated_at)
     SELECT device_id, to_timestamp(seen_ms / 1000.0), messages, fixes, scans, events, duplicates, rejects, now()
       FROM unnest($1::text[], $2::float8[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::jsonb[])
         AS t(device_id, seen_ms, messages, fixes, scans, events, duplicates, rejects)
     ON CONFLICT (device_id) DO UPDATE SET
       last_seen_at = excluded.last_seen_at, messages = excluded.messages, fixes = excluded.fixes, scans = excluded.scans,
       events = excluded.events, duplicates = excluded.duplicates, rejects = excluded.rejects, updated_at = now()`,
    [
      textArray(entries.map(([id]) => id)),
      numberArray(entries.map(([, c]) => c.lastSeenAt)),
      numberArray(entries.map(([, c]) => c.messages)),
      numberArray(entries.map(([, c]) => c.fixes)),
      numberArray(entries.map(([, c]) => c.scans)),
      numberArray(entries.map(([, c]) => c.events)),
      numberArray(entries.map(([, c]) => c.duplicates)),
      textArray(entries.map(([, c]) => JSON.stringify(c.rejects)))
    ])
}
