import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { detectDatabase, flavourOf } from '../../server/db/flavour.js'
import { migrate, SchemaTooNewError } from '../../server/db/migrate.js'
import { deleteExpired } from '../../server/db/policies.js'
import { pgSql } from '../../server/db/sql.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'

describe('on plain PostgreSQL', () => {
  let db: TestDatabase | undefined
  const clients: pg.Client[] = []

  afterEach(async () => {
    await Promise.all(clients.splice(0).map(async (client) => { await client.end() }))
    await db?.drop()
  })

  const connect = async (url: string): Promise<pg.Client> => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    clients.push(client)
    return client
  }

  it('applies the portable twin of each migration once, even when two servers start together', async () => {
    db = await createTestDatabase({ empty: true })
    const [a, b] = [pgSql(await connect(db.url)), pgSql(await connect(db.url))]
    const info = await detectDatabase(a)
    expect(info.timescaledb).toBeNull()
    expect(info.timescaledbAbsentBecause).toBe('the timescaledb extension is not installed on this server')
    const [first, second] = await Promise.all([migrate(a, flavourOf(info)), migrate(b, flavourOf(info))])
    expect([...first, ...second].map((m) => `${m.version}:${m.flavour}`).sort()).toEqual(['10:postgres', '11:postgres', '12:any', '13:any', '14:any', '15:any', '16:any', '17:postgres', '18:any', '19:any', '1:any', '20:postgres', '21:any', '22:any', '23:any', '24:any', '25:any', '2:any', '3:postgres', '4:any', '5:any', '6:any', '7:any', '8:any', '9:any'])
    expect(await migrate(a, 'postgres')).toEqual([])
    const brin = await db.pool.query("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%_brin' ORDER BY 1")
    expect(brin.rows.map((r) => r.indexname)).toEqual(['device_events_time_brin', 'ingest_rejects_time_brin', 'positions_time_brin', 'rfid_reads_time_brin', 'rfid_visits_time_brin'])
  })

  it('refuses to run against a schema newer than it knows', async () => {
    db = await createTestDatabase()
    await db.pool.query("INSERT INTO schema_migrations (version, name, flavour) VALUES (9999, 'from_the_future', 'any')")
    await expect(migrate(pgSql(await connect(db.url)), 'postgres')).rejects.toThrow(SchemaTooNewError)
  })

  it('deletes telemetry older than the retention window in slices, and nothing newer', async () => {
    db = await createTestDatabase()
    await db.pool.query(`
      INSERT INTO positions (device_id, time, lat, lon, received_at)
      SELECT 'van-1', now() - make_interval(days => d), 1, 1, now() FROM generate_series(1, 10) d`)
    await db.pool.query("INSERT INTO ingest_rejects (received_at, device_id, topic, reasons, detail) VALUES (now() - interval '8 days', 'van-1', 't', '{x}', 'old'), (now(), 'van-1', 't', '{x}', 'new')")
    const deleted = await deleteExpired(pgSql(db.pool), 5, 2)
    // positions 5 to 10 days old (the 5-day one is a moment past the cut) and the 8-day-old reject
    expect(deleted).toBe(7)
    const left = await db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM positions WHERE time > now() - interval '5 days'")
    const all = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM positions')
    expect([left.rows[0]?.n, all.rows[0]?.n]).toEqual([4, 4])
    const rejects = await db.pool.query<{ detail: string }>('SELECT detail FROM ingest_rejects')
    expect(rejects.rows).toEqual([{ detail: 'new' }])
    expect(await deleteExpired(pgSql(db.pool), 0)).toBe(0)
  })
})
