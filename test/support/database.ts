import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { inject } from 'vitest'
import { admin, withDatabase } from './global-setup.js'

export interface TestDatabase {
  url: string
  name: string
  /** A pool for assertions, closed by drop(). */
  pool: pg.Pool
  drop: () => Promise<void>
}

/** A fresh, migrated database (a copy of the run's template), or an empty one; dropped afterwards. */
export async function createTestDatabase ({ empty = false } = {}): Promise<TestDatabase> {
  const adminUrl = inject('pgAdminUrl')
  const name = `${inject('pgRunPrefix')}${randomBytes(5).toString('hex')}`
  const template = empty ? 'template0' : inject('pgTemplate')
  await admin(adminUrl, async (client) => { await client.query(`CREATE DATABASE ${name} TEMPLATE ${template}`) })
  const url = withDatabase(adminUrl, name)
  const pool = new pg.Pool({ connectionString: url, max: 3 })
  pool.on('error', () => {})
  return {
    url,
    name,
    pool,
    drop: async () => {
      await pool.end()
      await admin(adminUrl, async (client) => { await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) })
    }
  }
}
