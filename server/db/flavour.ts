import type { Sql } from './sql.js'

export interface DatabaseInfo {
  /** e.g. "PostgreSQL 16.4" */
  server: string
  /** The TimescaleDB version in this database, or null on plain PostgreSQL. */
  timescaledb: string | null
  /** Why TimescaleDB is not in use, when it is not. */
  timescaledbAbsentBecause: string | null
}

export type Flavour = 'timescaledb' | 'postgres'

export function flavourOf (info: DatabaseInfo): Flavour {
  return info.timescaledb === null ? 'postgres' : 'timescaledb'
}

/** Uses TimescaleDB when the server has it, creating the extension if needed; else plain PostgreSQL. */
export async function detectDatabase (sql: Sql): Promise<DatabaseInfo> {
  const [version] = await sql.query<{ v: string }>("SELECT current_setting('server_version') AS v")
  const server = `PostgreSQL ${version?.v.split(' ')[0] ?? 'unknown'}`
  const available = await sql.query("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
  if (available.length === 0) {
    return { server, timescaledb: null, timescaledbAbsentBecause: 'the timescaledb extension is not installed on this server' }
  }
  try {
    await sql.exec('CREATE EXTENSION IF NOT EXISTS timescaledb')
  } catch (error) {
    return { server, timescaledb: null, timescaledbAbsentBecause: `CREATE EXTENSION timescaledb failed: ${(error as Error).message}` }
  }
  const [installed] = await sql.query<{ extversion: string }>("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
  return { server, timescaledb: installed?.extversion ?? null, timescaledbAbsentBecause: null }
}
