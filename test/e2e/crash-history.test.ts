import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seedParcels, type ParcelSeed } from '../../bench/lib/seed-parcels.js'
import { DEVICE_SECRET } from '../../bench/lib/stage.js'
import { eventually } from '../support/clients.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'
import { Fleet, type FleetDevice } from '../support/fleet.js'
import { remoteApi } from '../support/remote.js'
import { expectEveryAckStoredOnce, killUnderLoad, Restartable } from '../support/restartable.js'

/** The size the issue asks this test to hold at: a year of history, a tenth of it on its way. */
const PARCELS = 1_000_000
/** How long the engine may take to hold every parcel on its way after the first start. */
const START_MS = 60_000

async function parcelsOnTheirWay (httpUrl: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text()
  const line = /^trackstream_engine_parcels\{set="on_their_way"\} (\d+)$/m.exec(text)
  if (line === null) throw new Error('no trackstream_engine_parcels in /metrics')
  return Number(line[1])
}

interface Counts { parcels: number, active: number, milestones: number, lastMilestone: string }

async function counts (db: TestDatabase, upTo?: string): Promise<Counts> {
  const { rows } = await db.pool.query<Counts>(
    `SELECT (SELECT count(*)::int FROM parcels) AS parcels,
            (SELECT count(*)::int FROM parcels WHERE ended_at IS NULL) AS active,
            (SELECT count(*)::int FROM milestones WHERE $1::bigint IS NULL OR id <= $1::bigint) AS milestones,
            (SELECT coalesce(max(id), 0)::text FROM milestones) AS "lastMilestone"`, [upTo ?? null])
  return rows[0] as Counts
}

describe('with a million parcels in the database', () => {
  let db: TestDatabase | undefined
  let servers: Restartable | undefined
  let fleet: Fleet | undefined
  let seed: ParcelSeed | undefined

  beforeAll(async () => {
    db = await createTestDatabase()
    // generated inside PostgreSQL by the bench's seeder: about a minute on 2 cores
    seed = await seedParcels({ url: db.url, pool: db.pool, server: '', drop: db.drop }, { parcels: PARCELS }, () => {})
  }, 600_000)

  afterAll(async () => {
    await fleet?.close()
    await servers?.stopAll()
    await db?.drop()
  })

  it('killed -9 at random moments under load, five times over, it keeps every acknowledged fix exactly once and every parcel and milestone it had', async () => {
    if (db === undefined || seed === undefined) throw new Error('not seeded')
    const before = await counts(db)
    expect(before.parcels).toBe(PARCELS)
    expect(before.active).toBe(seed.inTransit)

    servers = await Restartable.on(db.url)
    await servers.start()
    await eventually(async () => { expect(await parcelsOnTheirWay(servers?.httpUrl ?? '')).toBe(seed?.inTransit) }, START_MS)
    // the seeded vans, which carry parcels out for delivery: their fixes go through the engine's custody
    const devices: FleetDevice[] = Array.from({ length: 10 }, (_, i) => ({ id: `bench-${i}`, secret: DEVICE_SECRET }))
    fleet = await Fleet.connect(servers.mqttUrl, devices)
    fleet.start(1000)
    await killUnderLoad(servers, fleet, 30_000)
    await expectEveryAckStoredOnce(fleet, db.pool)

    // the history is all there, once, and the last start loaded every parcel on its way
    const after = await counts(db, before.lastMilestone)
    expect(after.parcels).toBe(PARCELS)
    expect(after.milestones).toBe(before.milestones)
    expect(await parcelsOnTheirWay(servers.httpUrl)).toBe(after.active)

    // a delivered parcel is still found and tracked, from the database, while its link lasts
    // (TRACKING_LINK_DAYS, 90, after the delivery); one delivered before that says its link expired
    const { rows } = await db.pool.query<{ tracking_number: string, public_token: string }>(
      "SELECT tracking_number, public_token FROM parcels WHERE ended_at > now() - interval '80 days' ORDER BY id LIMIT 1")
    const old = rows[0] as { tracking_number: string, public_token: string }
    const tracked = await fetch(`${servers.httpUrl}/api/track/${old.public_token}`)
    expect(tracked.status).toBe(200)
    const { rows: expired } = await db.pool.query<{ public_token: string }>(
      "SELECT public_token FROM parcels WHERE ended_at < now() - interval '100 days' ORDER BY id LIMIT 1")
    expect((await fetch(`${servers.httpUrl}/api/track/${expired[0]?.public_token ?? 'none'}`)).status).toBe(410)
    expect(((await tracked.json()) as { status: { code: string } | null }).status?.code).toBe('delivered')
    const found = await remoteApi(servers.httpUrl, 'GET', `/api/search?q=${encodeURIComponent(old.tracking_number)}`)
    expect(JSON.stringify(await found.json())).toContain(old.tracking_number)
  }, 600_000)
})
