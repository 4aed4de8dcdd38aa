import type { Sql } from './sql.js'

export interface StoragePolicy {
  /** 0 keeps telemetry forever. */
  retentionDays: number
  /** 0 never compresses. */
  compressAfterDays: number
}

interface TelemetryTable {
  table: string
  timeColumn: string
  compressible: boolean
}

export const TELEMETRY_TABLES: readonly TelemetryTable[] = [
  { table: 'positions', timeColumn: 'time', compressible: true },
  { table: 'rfid_reads', timeColumn: 'time', compressible: true },
  { table: 'rfid_visits', timeColumn: 'last_seen', compressible: false },
  { table: 'device_events', timeColumn: 'time', compressible: false },
  { table: 'ingest_rejects', timeColumn: 'received_at', compressible: false }
]

export async function hypertableNames (sql: Sql): Promise<Set<string>> {
  const rows = await sql.query<{ name: string }>(
    "SELECT hypertable_name AS name FROM timescaledb_information.hypertables WHERE hypertable_schema = 'public'")
  return new Set(rows.map((row) => row.name))
}

/**
 * Makes each hypertable's compression and retention jobs match the settings, touching a job only
 * when it differs, so a restart does not reset job schedules.
 */
export async function applyTimescalePolicies (sql: Sql, policy: StoragePolicy): Promise<void> {
  const hypertables = await hypertableNames(sql)
  for (const { table, compressible } of TELEMETRY_TABLES) {
    if (!hypertables.has(table)) continue
    if (compressible) {
      await syncJob(sql, table, 'policy_compression', 'compress_after', policy.compressAfterDays,
        'SELECT remove_compression_policy($1::regclass, if_exists => true)',
        'SELECT add_compression_policy($1::regclass, make_interval(days => $2::int))')
    }
    await syncJob(sql, table, 'policy_retention', 'drop_after', policy.retentionDays,
      'SELECT remove_retention_policy($1::regclass, if_exists => true)',
      'SELECT add_retention_policy($1::regclass, make_interval(days => $2::int))')
  }
}

async function syncJob (
  sql: Sql,
  table: string,
  procName: string,
  configKey: string,
  days: number,
  removeSql: string,
  addSql: string
): Promise<void> {
  const [job] = await sql.query<{ same: boolean }>(
    `SELECT (config ->> $3)::interval = make_interval(days => $4::int) AS same
       FROM timescaledb_information.jobs
      WHERE hypertable_schema = 'public' AND hypertable_name = $1 AND proc_name = $2`,
    [table, procName, configKey, days])
  if (days === 0) {
    if (job !== undefined) await sql.query(removeSql, [table])
    return
  }
  if (job?.same === true) return
  if (job !== undefined) await sql.query(removeSql, [table])
  await sql.query(addSql, [table, days])
}

/**
 * Plain PostgreSQL has no retention jobs: delete expired rows in slices, so one run never holds
 * a long lock or a huge transaction. Returns how many rows went.
 */
export async function deleteExpired (sql: Sql, retentionDays: number, sliceRows = 10_000): Promise<number> {
  if (retentionDays === 0) return 0
  let deleted = 0
  for (const { table, timeColumn } of TELEMETRY_TABLES) {
    for (;;) {
      // identifiers come from the constant list above, never from input
      const rows = await sql.query<{ n: number }>(
        `WITH gone AS (
           DELETE FROM ${table} WHERE ctid = ANY (ARRAY(
             SELECT ctid FROM ${table} WHERE ${timeColumn} < now() - make_interval(days => $1::int) LIMIT $2))
           RETURNING 1)
         SELECT count(*)::int AS n FROM gone`,
        [retentionDays, sliceRows])
      const n = rows[0]?.n ?? 0
      deleted += n
      if (n < sliceRows) break
    }
  }
  return deleted
}
