import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AdvisoryLease } from '../../server/db/lease.js'
import { createPool } from '../../server/db/pool.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'

const quiet = { warn: () => {} }

describe('AdvisoryLease', () => {
  let db: TestDatabase
  let pools: pg.Pool[]

  beforeAll(async () => {
    db = await createTestDatabase()
    pools = [0, 1].map(() => createPool({ connectionString: db.url, connectTimeoutMs: 2000, queryTimeoutMs: 2000, log: quiet }))
  })
  afterAll(async () => {
    await Promise.all(pools.map(async (pool) => { await pool.end() }))
    await db?.drop()
  })

  it('is held by one at a time; released, the other takes it', async () => {
    const [a, b] = pools.map((pool) => new AdvisoryLease(pool, 42, 1000)) as [AdvisoryLease, AdvisoryLease]
    expect(await a.renew()).toBe(true)
    expect(await b.renew()).toBe(false)
    expect(await a.renew()).toBe(true)
    await a.release()
    expect(a.held).toBe(false)
    expect(await b.renew()).toBe(true)
    expect(await a.renew()).toBe(false)
    await b.release()
  })

  it('stops holding when its connection is gone, and PostgreSQL gives the lock to the other', async () => {
    const [a, b] = pools.map((pool) => new AdvisoryLease(pool, 43, 1000)) as [AdvisoryLease, AdvisoryLease]
    expect(await a.renew()).toBe(true)
    // what a crashed holder's connection looks like to PostgreSQL: gone
    await db.pool.query("SELECT pg_terminate_backend(pid, 5000) FROM pg_locks WHERE locktype = 'advisory' AND objid = 43")
    expect(await b.renew()).toBe(true)
    // its check fails (or its connection's error came first): it no longer holds, nor can take it
    expect(await a.renew()).toBe(false)
    expect(a.held).toBe(false)
    await b.release()
  })
})
