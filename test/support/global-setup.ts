import { mkdtemp } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import type { TestProject } from 'vitest/node'
import { buildDashboard } from '../../dashboard/build.js'
import { detectDatabase, flavourOf } from '../../server/db/flavour.js'
import { migrate } from '../../server/db/migrate.js'
import { pgSql } from '../../server/db/sql.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** A superuser connection to the test PostgreSQL server, on its postgres database. */
    pgAdminUrl: string
    /** A migrated database every test database is cloned from. */
    pgTemplate: string
    /** Prefix of every database this run creates, so teardown can find them. */
    pgRunPrefix: string
  }
}

const LOCAL = 'postgres://postgres@127.0.0.1:5432/postgres'

/**
 * Finds a real PostgreSQL for the tests, or starts one: TEST_DATABASE_URL, else the local server
 * on 127.0.0.1:5432, else an embedded PostgreSQL in a temporary directory.
 */
export default async function setup (project: TestProject): Promise<() => Promise<void>> {
  await buildDashboard()
  let adminUrl = process.env.TEST_DATABASE_URL ?? LOCAL
  let stopEmbedded: (() => Promise<void>) | undefined
  if (!await reachable(adminUrl)) {
    if (process.env.TEST_DATABASE_URL !== undefined) throw new Error(`TEST_DATABASE_URL ${adminUrl} does not answer`)
    const { startEmbeddedPostgres } = await import('../../server/db/embedded.js')
    const dir = await mkdtemp(path.join(os.tmpdir(), 'trackstream-test-pg-'))
    const embedded = await startEmbeddedPostgres(dir, { debug: () => {}, warn: (message) => { console.warn(message) } })
    adminUrl = embedded.url.replace(/\/trackstream$/, '/postgres')
    stopEmbedded = embedded.stop
    console.log(`tests use an embedded PostgreSQL on port ${embedded.port}: nothing answered on ${LOCAL}`)
  }
  const prefix = `ts_test_${process.pid}_`
  const template = `${prefix}template`
  await admin(adminUrl, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${template}`)
    await client.query(`CREATE DATABASE ${template}`)
  })
  const templateClient = new pg.Client({ connectionString: withDatabase(adminUrl, template) })
  await templateClient.connect()
  const sql = pgSql(templateClient)
  await migrate(sql, flavourOf(await detectDatabase(sql)))
  await templateClient.end()

  project.provide('pgAdminUrl', adminUrl)
  project.provide('pgTemplate', template)
  project.provide('pgRunPrefix', prefix)

  return async () => {
    await admin(adminUrl, async (client) => {
      const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${prefix}%`])
      for (const { datname } of rows) await client.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`)
    })
    await stopEmbedded?.()
  }
}

async function reachable (url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
  try {
    await client.connect()
    await client.end()
    return true
  } catch {
    return false
  }
}

export async function admin (adminUrl: string, work: (client: pg.Client) => Promise<void>): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    await work(client)
  } finally {
    await client.end()
  }
}

export function withDatabase (url: string, database: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}
