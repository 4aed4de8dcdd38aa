import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { combineParts, runParts, type WritePart } from '../../server/db/write-part.js'
import { pgSql, type Sql } from '../../server/db/sql.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'

const part = (table: string, values: unknown[], counted = false): WritePart => ({
  ctes: [{ name: `${table}_in`, body: `INSERT INTO ${table} (n, label) SELECT * FROM unnest($1::int[], $2::text[]) RETURNING 1` }],
  params: values,
  ...(counted ? { counted: `${table}_in` } : {})
})

describe('combineParts: a batch of writes as one statement', () => {
  it('renumbers each part\'s parameters after the ones before it, $10 and up included', () => {
    const wide: WritePart = { ctes: [{ name: 'wide', body: 'SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11', materialized: true }], params: Array.from({ length: 11 }, (_, i) => i) }
    const { text, params } = combineParts([wide, { ctes: [{ name: 'next', body: 'SELECT $1::int, $10::int, $2' }], params: ['a', 'b'] }])
    expect(text).toContain('wide AS MATERIALIZED (SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)')
    expect(text).toContain('next AS (SELECT $12::int, $21::int, $13)')
    expect(params).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 'a', 'b'])
    expect(text.endsWith('SELECT 0 AS count')).toBe(true)
  })

  it('counts the rows of the first part that asks', () => {
    expect(combineParts([part('a', []), part('b', [], true), part('c', [], true)]).text.endsWith('SELECT count(*)::int AS count FROM b_in')).toBe(true)
    expect(combineParts([]).text).toBe('SELECT 0 AS count')
  })
})

describe('runParts on PostgreSQL', () => {
  let db: TestDatabase
  let sql: Sql

  beforeAll(async () => {
    db = await createTestDatabase()
    sql = pgSql(db.pool)
    await sql.exec('CREATE TABLE wp_a (n int PRIMARY KEY, label text NOT NULL); CREATE TABLE wp_b (n int PRIMARY KEY, label text NOT NULL CHECK (label <> \'bad\'))')
  })

  afterAll(async () => { await db?.drop() })

  it('writes every part, or none of them when one is refused', async () => {
    expect(await runParts(sql, [part('wp_a', ['{1,2}', '{x,y}'], true), part('wp_b', ['{1}', '{z}'])])).toBe(2)
    await expect(runParts(sql, [part('wp_a', ['{3}', '{x}']), part('wp_b', ['{2}', '{bad}'])])).rejects.toThrow(/check constraint/)
    const rows = await sql.query<{ t: string, n: number }>("SELECT 'a' AS t, n FROM wp_a UNION ALL SELECT 'b', n FROM wp_b ORDER BY 1, 2")
    expect(rows).toEqual([{ t: 'a', n: 1 }, { t: 'a', n: 2 }, { t: 'b', n: 1 }])
  })
})
