import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deleteKpiDays, insertKpiDays, lockKpiRefresh, selectKpis, takeTouchedKpiDays } from '../../../server/db/queries/kpis.js'
import { pgSql, withTransaction, type Sql } from '../../../server/db/sql.js'
import { createTestDatabase, type TestDatabase } from '../../support/database.js'

const outcome = (time: string, partner: string, outcome = 'delivered'): string =>
  `INSERT INTO parcel_outcomes (time, parcel_id, outcome, partner, lane, station_id, on_time, attempts, had_exception, damaged, currency, cod_expected, cod_collected)
   VALUES ('${time}', gen_random_uuid(), '${outcome}', '${partner}', 'CN>TH', 'BKK', true, 0, false, false, 'THB', 100.50, 100.50)`

describe('kpi_daily on plain PostgreSQL: only the days written are counted again', () => {
  let db: TestDatabase
  let sql: Sql

  const refresh = async (): Promise<Date[]> => await withTransaction(db.pool, async (tx) => {
    await lockKpiRefresh(tx)
    const days = await takeTouchedKpiDays(tx)
    if (days.length > 0) {
      await deleteKpiDays(tx, days)
      await insertKpiDays(tx, days)
    }
    return days
  })
  const byPartner = async (): Promise<Array<[string, number]>> =>
    (await selectKpis(sql, { from: new Date('2026-01-01T00:00:00Z'), to: new Date('2027-01-01T00:00:00Z'), by: 'partner' }))
      .map((row) => [row.key, row.parcels])

  beforeAll(async () => {
    db = await createTestDatabase()
    sql = pgSql(db.pool)
  })

  afterAll(async () => { await db?.drop() })

  it('notes the UTC day of every outcome written, and recounts just those days', async () => {
    // 23:30 in UTC is the next day in Bangkok: the day is UTC's whatever the session's zone
    await sql.exec(`SET TIME ZONE 'Asia/Bangkok'; ${outcome('2026-11-01T23:30:00Z', 'FastMile')}; ${outcome('2026-11-02T10:00:00Z', 'FastMile')}; RESET TIME ZONE`)
    expect((await refresh()).map((day) => day.toISOString()).sort()).toEqual(['2026-11-01T00:00:00.000Z', '2026-11-02T00:00:00.000Z'])
    expect(await byPartner()).toEqual([['FastMile', 2]])
    const [row] = await sql.query<{ cod: string }>("SELECT cod_expected::text AS cod FROM kpi_daily WHERE day = '2026-11-01T00:00:00Z'")
    expect(row?.cod).toBe('100.50')

    // an untouched day is left as it is: a count changed behind the refresh's back stays changed
    await sql.exec("UPDATE kpi_daily SET parcels = 40 WHERE day = '2026-11-02T00:00:00Z'")
    await sql.exec(outcome('2026-11-01T08:00:00Z', 'FastMile'))
    expect((await refresh()).map((day) => day.toISOString())).toEqual(['2026-11-01T00:00:00.000Z'])
    expect(await byPartner()).toEqual([['FastMile', 42]])
    expect(await refresh()).toEqual([])
  })

  it('moves a rewritten outcome to its new group, and drops a group left with nothing', async () => {
    await sql.exec("UPDATE kpi_daily SET parcels = 1 WHERE day = '2026-11-02T00:00:00Z'")
    await sql.exec(`${outcome('2026-11-05T12:00:00Z', 'SlowPost', 'lost')}`)
    await refresh()
    expect(await byPartner()).toEqual([['FastMile', 3], ['SlowPost', 1]])
    await sql.exec("UPDATE parcel_outcomes SET partner = 'FastMile', time = '2026-11-06T01:00:00Z' WHERE partner = 'SlowPost'")
    expect((await refresh()).map((day) => day.toISOString()).sort()).toEqual(['2026-11-05T00:00:00.000Z', '2026-11-06T00:00:00.000Z'])
    expect(await byPartner()).toEqual([['FastMile', 4]])
    expect(await sql.query("SELECT 1 FROM kpi_daily WHERE day = '2026-11-05T00:00:00Z'")).toEqual([])
    await sql.exec("DELETE FROM parcel_outcomes WHERE time = '2026-11-06T01:00:00Z'")
    await refresh()
    expect(await byPartner()).toEqual([['FastMile', 3]])
  })

  it('counts a day once when two instances refresh at the same moment', async () => {
    await sql.exec(`${outcome('2026-11-10T01:00:00Z', 'FastMile')}; ${outcome('2026-11-10T02:00:00Z', 'FastMile')}`)
    const [first, second] = await Promise.all([refresh(), refresh()])
    expect([...first ?? [], ...second ?? []].map((day) => day.toISOString())).toEqual(['2026-11-10T00:00:00.000Z'])
    expect(await byPartner()).toEqual([['FastMile', 5]])
  })

  it('gives the days back when the recount fails, for the next refresh', async () => {
    await sql.exec(outcome('2026-11-12T01:00:00Z', 'FastMile'))
    await expect(withTransaction(db.pool, async (tx) => {
      await takeTouchedKpiDays(tx)
      throw new Error('the connection went away')
    })).rejects.toThrow('went away')
    expect((await refresh()).map((day) => day.toISOString())).toEqual(['2026-11-12T00:00:00.000Z'])
    expect(await byPartner()).toEqual([['FastMile', 6]])
  })
})
