import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { prefixRange, searchParcels } from '../../../server/db/queries/search-parcels.js'
import { pgSql, type Sql } from '../../../server/db/sql.js'
import { createTestDatabase, type TestDatabase } from '../../support/database.js'

/** 3,000 parcels: TS-0 … TS-2999, every tenth with an EPC, every hundredth with an SSCC; and two with LIKE's wildcards. */
const SEED = `
INSERT INTO parcels (id, tracking_number, epc, gs1_key, public_token, status, status_at, dest_city, dest_country, created_at)
SELECT gen_random_uuid(), 'TS-' || i,
       CASE WHEN i % 10 = 0 THEN 'E2801160' || upper(lpad(to_hex(i), 16, '0')) END,
       CASE WHEN i % 100 = 0 THEN 'sscc:0' || lpad(i::text, 17, '0') END,
       md5(i::text), 'info_received', now(), 'Bangkok', 'TH', now()
  FROM generate_series(0, 2999) AS i;
INSERT INTO parcels (id, tracking_number, public_token, status, status_at, dest_city, dest_country, created_at) VALUES
  (gen_random_uuid(), 'A%B_1', 'wild-1', 'info_received', now(), 'Bangkok', 'TH', now()),
  (gen_random_uuid(), 'AXBY1', 'wild-2', 'info_received', now(), 'Bangkok', 'TH', now());
ANALYZE parcels;`

describe('searchParcels: the closest completions of a prefix, from indexes', () => {
  let db: TestDatabase
  let sql: Sql
  const numbers = async (needle: string, limit = 20): Promise<string[]> => (await searchParcels(sql, needle, limit)).map((hit) => hit.trackingNumber).sort()

  beforeAll(async () => {
    db = await createTestDatabase()
    sql = pgSql(db.pool)
    await sql.exec(SEED)
  })

  afterAll(async () => { await db?.drop() })

  it('finds every parcel a specific prefix starts, in any case', async () => {
    expect(await numbers('ts-299')).toEqual(['TS-299', ...Array.from({ length: 10 }, (_, i) => `TS-299${i}`)].sort())
    expect(await numbers('ts-2999')).toEqual(['TS-2999'])
    expect(await numbers('xx')).toEqual([])
  })

  it('reads only the closest completions of a prefix thousands of parcels start', async () => {
    // TS-0 … TS-9 are the shortest; the limit takes the first of them in key order
    expect(await numbers('ts-', 5)).toEqual(['TS-0', 'TS-1', 'TS-2', 'TS-3', 'TS-4'])
    expect(await numbers('t', 12)).toEqual([...Array.from({ length: 10 }, (_, i) => `TS-${i}`), 'TS-10', 'TS-11'].sort())
  })

  it('finds by EPC in any case, and by the digits of an SSCC', async () => {
    expect(await numbers(`e2801160${(2990).toString(16).padStart(16, '0')}`)).toEqual(['TS-2990'])
    expect((await searchParcels(sql, 'e2801160', 5)).every((hit) => hit.epc?.startsWith('E2801160'))).toBe(true)
    expect(await numbers('000000000000002900')).toEqual(['TS-2900'])
  })

  it('takes LIKE\'s wildcards in the query as themselves', async () => {
    expect(await numbers('a%b_')).toEqual(['A%B_1'])
    expect(await numbers('a_')).toEqual([])
  })
})

describe('prefixRange: the keys a prefix starts, in code point order', () => {
  it('ends just after the last key the prefix starts', () => {
    expect(prefixRange('ts-12')).toEqual(['ts-12', 'ts-13'])
    expect(prefixRange('az')).toEqual(['az', 'a{'])
    expect(prefixRange('a\ud7ff')).toEqual(['a\ud7ff', 'a\ue000'])
    expect(prefixRange('b\u{10ffff}')).toEqual(['b\u{10ffff}', 'c'])
    expect(prefixRange('\u{10ffff}')).toBeNull()
  })

  it('holds every string the prefix starts and none other (C collation = code point order)', () => {
    const [from, to] = prefixRange('ab') as [string, string]
    const codePoints = (text: string): number[] => [...text].map((c) => c.codePointAt(0) as number)
    const before = (a: string, b: string): boolean => {
      const [x, y] = [codePoints(a), codePoints(b)]
      for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return (x[i] as number) < (y[i] as number)
      return x.length < y.length
    }
    const inside = (key: string): boolean => !before(key, from) && before(key, to)
    for (const key of ['ab', 'abz', 'ab\u{10ffff}\u{10ffff}', 'ab😀']) expect(inside(key)).toBe(true)
    for (const key of ['a', 'aa\u{10ffff}', 'ac', 'b', 'a']) expect(inside(key)).toBe(false)
  })
})
