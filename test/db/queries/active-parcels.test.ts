import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { idRanges, Interner, selectActivePage, type IdRange } from '../../../server/db/queries/active-parcels.js'
import { pgSql, type Sql } from '../../../server/db/sql.js'
import type { ActiveParcel, CustodyRow } from '../../../server/model.js'
import { RECENT_LIMIT } from '../../../server/tracking/parcel-track.js'
import { createTestDatabase, type TestDatabase } from '../../support/database.js'

/**
 * 300 parcels with random ids: every third delivered (ended), the rest on their way, each with
 * i % 5 milestones a minute apart, parcel 7 with more than RECENT_LIMIT of them; of those on their
 * way, every fifth has custody: at a station (loose), or aboard a vehicle for every tenth.
 */
const SEED = `
INSERT INTO parcels (id, tracking_number, public_token, status, status_at, dest_city, dest_country, created_at, ended_at)
SELECT gen_random_uuid(), 'AP-' || i, md5(i::text), 'info_received', now(), 'Bangkok', 'TH', now(),
       CASE WHEN i % 3 = 0 THEN now() END
  FROM generate_series(1, 300) AS i;
INSERT INTO milestones (parcel_id, code, time, station_id, source)
SELECT p.id, 'arrived_at_facility', timestamptz '2026-11-01' + k * interval '1 minute', 'ST-' || k, 'test'
  FROM parcels p, LATERAL generate_series(1, CASE WHEN p.tracking_number = 'AP-7' THEN ${RECENT_LIMIT} + 8 ELSE substr(p.tracking_number, 4)::int % 5 END) AS k;
INSERT INTO custody (item, carrier, since)
SELECT 'parcel:' || id, CASE WHEN substr(tracking_number, 4)::int % 10 = 0 THEN 'vehicle:V1' END, now()
  FROM parcels WHERE ended_at IS NULL AND substr(tracking_number, 4)::int % 5 = 0;
ANALYZE parcels; ANALYZE milestones;`

describe('selectActivePage: the parcels on their way, with their recent milestones and custody', () => {
  let db: TestDatabase
  let sql: Sql

  beforeAll(async () => {
    db = await createTestDatabase()
    sql = pgSql(db.pool)
    await sql.exec(SEED)
  })

  afterAll(async () => { await db?.drop() })

  async function readAll (ranges: IdRange[], page: number): Promise<{ parcels: ActiveParcel[], custody: CustodyRow[] }> {
    const parcels: ActiveParcel[] = []
    const custody: CustodyRow[] = []
    for (const range of ranges) {
      for (let next: IdRange | null = range; next !== null;) {
        const result = await selectActivePage(sql, next, page, new Interner())
        parcels.push(...result.parcels)
        custody.push(...result.looseCustody)
        next = result.next
      }
    }
    return { parcels, custody }
  }

  it('reads every parcel on its way once, in pages, across the parts of the id space', async () => {
    const active = await sql.query<{ tracking_number: string }>('SELECT tracking_number FROM parcels WHERE ended_at IS NULL')
    for (const [parts, page] of [[1, 1000], [1, 7], [16, 7], [3, 50]] as const) {
      const { parcels } = await readAll(idRanges(parts), page)
      expect(parcels.map((p) => p.trackingNumber).sort()).toEqual(active.map((row) => row.tracking_number).sort())
    }
  })

  it('gives each parcel its newest milestones, oldest first, at most RECENT_LIMIT', async () => {
    const { parcels } = await readAll(idRanges(4), 25)
    const byNumber = new Map(parcels.map((p) => [p.trackingNumber, p]))
    expect(byNumber.get('AP-4')?.track.recent.map((m) => m.stationId)).toEqual(['ST-1', 'ST-2', 'ST-3', 'ST-4'])
    expect(byNumber.get('AP-5')?.track.recent).toEqual([])
    const long = byNumber.get('AP-7')?.track.recent ?? []
    expect(long).toHaveLength(RECENT_LIMIT)
    expect(long[0]?.stationId).toBe('ST-9')
    expect(long.at(-1)?.stationId).toBe(`ST-${RECENT_LIMIT + 8}`)
    expect(long.every((m, i) => i === 0 || (long[i - 1]?.time ?? Infinity) < m.time)).toBe(true)
  })

  it('brings the custody of those at a station, not of those aboard a vehicle', async () => {
    const { parcels, custody } = await readAll(idRanges(2), 40)
    const number = new Map(parcels.map((p) => [`parcel:${p.id}`, p.trackingNumber]))
    const loose = custody.map((row) => number.get(row.item)).sort()
    const expected = Array.from({ length: 300 }, (_, k) => k + 1).filter((i) => i % 3 !== 0 && i % 5 === 0 && i % 10 !== 0).map((i) => `AP-${i}`)
    expect(expected.length).toBeGreaterThan(10)
    expect(loose).toEqual(expected.sort())
    expect(custody.every((row) => row.carrier === null && Number.isFinite(row.since))).toBe(true)
  })
})

describe('idRanges', () => {
  it('cuts the id space into contiguous parts, by the first hex digit', () => {
    expect(idRanges(1)).toEqual([{ after: null, upTo: null }])
    const four = idRanges(4)
    expect(four.map((r) => [r.after?.slice(0, 8) ?? null, r.upTo?.slice(0, 8) ?? null]))
      .toEqual([[null, '3fffffff'], ['3fffffff', '7fffffff'], ['7fffffff', 'bfffffff'], ['bfffffff', null]])
    const sixteen = idRanges(16)
    expect(sixteen).toHaveLength(16)
    for (let k = 1; k < sixteen.length; k++) expect(sixteen[k]?.after).toBe(sixteen[k - 1]?.upTo)
    expect(idRanges(40)).toHaveLength(16)
  })
})
