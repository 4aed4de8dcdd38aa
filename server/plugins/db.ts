import fp from 'fastify-plugin'
import type pg from 'pg'
import { detectDatabase, flavourOf, type DatabaseInfo } from '../db/flavour.js'
import { migrate } from '../db/migrate.js'
import { applyTimescalePolicies, type StoragePolicy } from '../db/policies.js'
import { createPool, pingDatabase } from '../db/pool.js'
import { pgSql, type Sql } from '../db/sql.js'

export interface Database {
  pool: pg.Pool
  sql: Sql
  /** For maintenance that may run long (retention, KPI refresh): a query timeout of minutes. */
  maintenanceSql: Sql
  info: DatabaseInfo
  policy: StoragePolicy
  /** A cheap round trip, for /readyz: false within PING_TIMEOUT_MS when the database is gone. */
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
  connectTimeoutMs: number
  queryTimeoutMs: number
}

const PING_TIMEOUT_MS = 800
export const MAINTENANCE_TIMEOUT_MS = 30 * 60 * 1000

/** Connects, detects TimescaleDB, migrates, applies storage policies; closes the pool on close. */
export default fp<DbPluginOptions>(async (app, { databaseUrl, policy, connectTimeoutMs, queryTimeoutMs }) => {
  const pool = createPool({ connectionString: databaseUrl, connectTimeoutMs, queryTimeoutMs, log: app.log })

  const setup = await pool.connect()
  let info: DatabaseInfo
  try {
    // a migration may build an index over millions of rows
    const sql = pgSql(setup, MAINTENANCE_TIMEOUT_MS)
    info = await detectDatabase(sql)
    const applied = await migrate(sql, flavourOf(info))
    for (const migration of applied) app.log.info(`applied migration ${migration.version}_${migration.name} (${migration.flavour})`)
    if (info.timescaledb !== null) await applyTimescalePolicies(sql, policy)
  } finally {
    setup.release()
  }

  const sql = pgSql(pool)
  const maintenanceSql = pgSql(pool, MAINTENANCE_TIMEOUT_MS)
  app.decorate('db', {
    pool,
    sql,
    maintenanceSql,
    info,
    policy,
    ping: async () => await pingDatabase(pool, PING_TIMEOUT_MS)
  })
  app.addHook('onClose', async () => { await pool.end() })
}, { name: 'trackstream-db' })
