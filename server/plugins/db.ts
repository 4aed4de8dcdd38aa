import fp from 'fastify-plugin'
import pg from 'pg'
import { detectDatabase, flavourOf, type DatabaseInfo } from '../db/flavour.js'
import { migrate } from '../db/migrate.js'
import { applyTimescalePolicies, deleteExpired, type StoragePolicy } from '../db/policies.js'
import { pgSql, type Sql } from '../db/sql.js'

export interface Database {
  pool: pg.Pool
  sql: Sql
  info: DatabaseInfo
  policy: StoragePolicy
  /** A cheap round trip, for /readyz. */
  ping: () => Promise<boolean>
}

declare module 'fastify' {
  interface FastifyInstance {
    db: Database
  }
}

export interface DbPluginOptions {
  databaseUrl: string
  policy: StoragePolicy
}

const RETENTION_SWEEP_MS = 60 * 60 * 1000

/** Connects, detects TimescaleDB, migrates, applies storage policies; closes the pool on close. */
export default fp<DbPluginOptions>(async (app, { databaseUrl, policy }) => {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10, connectionTimeoutMillis: 5000 })
  // an idle client losing its connection must not take the process down; the next query reconnects
  pool.on('error', (error) => { app.log.warn({ reason: error.message }, 'idle database connection lost') })

  const setup = await pool.connect()
  let info: DatabaseInfo
  try {
    const sql = pgSql(setup)
    info = await detectDatabase(sql)
    const applied = await migrate(sql, flavourOf(info))
    for (const migration of applied) app.log.info(`applied migration ${migration.version}_${migration.name} (${migration.flavour})`)
    if (info.timescaledb !== null) await applyTimescalePolicies(sql, policy)
  } finally {
    setup.release()
  }

  const sql = pgSql(pool)
  let sweeper: NodeJS.Timeout | undefined
  if (info.timescaledb === null && policy.retentionDays > 0) {
    const sweep = (): void => {
      deleteExpired(sql, policy.retentionDays)
        .then((deleted) => { if (deleted > 0) app.log.info({ deleted }, 'deleted telemetry older than RETENTION_DAYS') })
        .catch((error: unknown) => { app.log.warn({ err: error }, 'retention sweep failed; will try again') })
    }
    sweeper = setInterval(sweep, RETENTION_SWEEP_MS).unref()
    app.addHook('onReady', async () => { sweep() })
  }

  app.decorate('db', {
    pool,
    sql,
    info,
    policy,
    ping: async () => {
      try {
        await pool.query('SELECT 1')
        return true
      } catch {
        return false
      }
    }
  })
  app.addHook('onClose', async () => {
    clearInterval(sweeper)
    await pool.end()
  })
}, { name: 'trackstream-db' })
