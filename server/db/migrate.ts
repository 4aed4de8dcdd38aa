import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Flavour } from './flavour.js'
import type { Sql } from './sql.js'

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url))
/** Any number, as long as every trackstream agrees on it: serialises concurrent starts. */
const MIGRATION_LOCK = 7_130_001

export interface Migration {
  version: number
  name: string
  /** Which file was chosen: a flavour-specific one wins over none. */
  flavour: Flavour | 'any'
  sql: string
}

/**
 * NNNN_name.sql runs everywhere. NNNN_name.timescaledb.sql and NNNN_name.postgres.sql are twins:
 * the one matching the database runs, and the choice is recorded with the version.
 */
export function listMigrations (flavour: Flavour, dir = MIGRATIONS_DIR): Migration[] {
  const byVersion = new Map<number, Migration>()
  for (const file of readdirSync(dir).sort()) {
    const match = /^(\d{4})_([a-z0-9_]+)(?:\.(timescaledb|postgres))?\.sql$/.exec(file)
    if (match === null) continue
    const [, version, name, variant] = match
    if (variant !== undefined && variant !== flavour) continue
    byVersion.set(Number(version), {
      version: Number(version),
      name: name ?? file,
      flavour: (variant as Flavour | undefined) ?? 'any',
      sql: readFileSync(`${dir}/${file}`, 'utf8')
    })
  }
  return [...byVersion.values()].sort((a, b) => a.version - b.version)
}

export class SchemaTooNewError extends Error {
  constructor (databaseVersion: number, knownVersion: number) {
    super(`the database schema is at version ${databaseVersion}, but this trackstream knows only up to ${knownVersion}; upgrade trackstream`)
    this.name = 'SchemaTooNewError'
  }
}

/** Applies what is missing, each migration in its own transaction. Returns what it applied. */
export async function migrate (sql: Sql, flavour: Flavour): Promise<Migration[]> {
  const migrations = listMigrations(flavour)
  await sql.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK])
  try {
    await sql.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      flavour    text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`)
    const done = new Set((await sql.query<{ version: number }>('SELECT version FROM schema_migrations')).map((row) => row.version))
    const newest = Math.max(0, ...done)
    const known = migrations.at(-1)?.version ?? 0
    if (newest > known) throw new SchemaTooNewError(newest, known)
    const applied: Migration[] = []
    for (const migration of migrations.filter((m) => !done.has(m.version))) {
      await sql.exec('BEGIN')
      try {
        await sql.exec(migration.sql)
        await sql.query('INSERT INTO schema_migrations (version, name, flavour) VALUES ($1, $2, $3)',
          [migration.version, migration.name, migration.flavour])
        await sql.exec('COMMIT')
      } catch (error) {
        await sql.exec('ROLLBACK')
        throw new Error(`migration ${migration.version}_${migration.name} failed: ${(error as Error).message}`, { cause: error })
      }
      applied.push(migration)
    }
    return applied
  } finally {
    await sql.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK])
  }
}
