import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { numberArray, textArray } from '../../server/db/pg-array.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'

describe('array literals for unnest()', () => {
  let db: TestDatabase
  let client: pg.Client
  beforeAll(async () => {
    db = await createTestDatabase()
    client = new pg.Client({ connectionString: db.url })
    await client.connect()
  })
  afterAll(async () => {
    await client.end()
    await db.drop()
  })

  it('round-trips awkward text through PostgreSQL exactly, and keeps "NULL" a string', async () => {
    const values = ['van-1', 'NULL', 'null', '', 'a,b', 'quote"inside', 'back\\slash', '{braces}', ' spaced ', 'ünï', null, undefined]
    const { rows } = await client.query<{ v: string | null }>('SELECT unnest($1::text[]) AS v', [textArray(values)])
    expect(rows.map((r) => r.v)).toEqual([...values.slice(0, -2), null, null])
  })

  it('round-trips numbers exactly, and turns missing or non-finite ones into NULL', async () => {
    const values = [0, -0.5, 13.7563, 1795420800123, 1e-7, 2 ** 53 - 1, null, undefined, Number.NaN, Infinity]
    const { rows } = await client.query<{ v: number | null }>('SELECT unnest($1::float8[]) AS v', [numberArray(values)])
    expect(rows.map((r) => r.v)).toEqual([0, -0.5, 13.7563, 1795420800123, 1e-7, 2 ** 53 - 1, null, null, null, null])
  })
})
