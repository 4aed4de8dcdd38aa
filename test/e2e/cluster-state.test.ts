import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../support/clients.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'
import { redisMissing, startRedis, type TestRedis } from '../support/redis.js'
import { startTestServer, type TestServer } from '../support/server.js'

const MIN = 60_000
const HOUR = 60 * MIN

describe.skipIf(redisMissing !== undefined)('cluster mode: each instance follows the parcels another one moved', () => {
  let redis: TestRedis
  let db: TestDatabase
  let holder: TestServer
  let other: TestServer
  let now = Date.now() - 12 * HOUR

  beforeAll(async () => {
    redis = await startRedis()
    db = await createTestDatabase()
    const env = { REDIS_URL: redis.url, EXCEPTION_SWEEP_MS: '3600000', STALL_SLA_MS: String(HOUR) }
    // started first, it holds the lease: the exception sweep is its
    holder = await startTestServer({ db, env, clock: () => now })
    other = await startTestServer({ db, env, clock: () => now })
  })
  afterAll(async () => {
    await other?.close()
    await holder?.close()
    await db?.drop()
    await redis?.stop()
  })

  const openOf = async (trackingNumber: string): Promise<Array<{ kind: string, detail: { after?: string } }>> =>
    (await holder.api<{ items: Array<{ kind: string, parcel: { trackingNumber: string } | null, detail: { after?: string } }> }>('GET', '/api/exceptions?state=open')).body.items
      .filter((item) => item.parcel?.trackingNumber === trackingNumber)

  it('the lease holder judges a parcel by the milestone another instance recorded', async () => {
    expect(holder.app.singleton.holds()).toBe(true)
    expect((await holder.api('POST', '/api/stations', { id: 'HUB-S', name: 'Hub', kind: 'hub', lat: 13.8, lon: 100.7, city: 'Bangkok', country: 'TH' })).status).toBe(201)
    expect((await holder.api('POST', '/api/parcels', { trackingNumber: 'CL-STALL', originCountry: 'CN', destination: { city: 'Bangkok', country: 'TH' } })).status).toBe(201)
    now += 10 * MIN
    // the other instance records the next step (it knows the station once config sync has told it)
    await eventually(async () => {
      expect((await other.api('POST', '/api/parcels/CL-STALL/milestones', { code: 'arrived_at_facility', stationId: 'HUB-S' })).status).toBe(201)
    })
    await eventually(async () => {
      const metrics = await (await fetch(`${holder.httpUrl}/metrics`)).text()
      expect(metrics).toMatch(/trackstream_state_sync_total\{kind="milestones",outcome="in"\} [1-9]/)
    })
    // 65 minutes since the parcel was registered, 55 since it arrived: not stalled (the SLA is an hour)
    now += 55 * MIN
    await holder.app.sweepExceptions()
    expect(await openOf('CL-STALL')).toEqual([])
    // an hour and five minutes after it arrived: stalled after arriving, as the holder now knows
    now += 10 * MIN
    await holder.app.sweepExceptions()
    expect((await openOf('CL-STALL')).map((item) => [item.kind, item.detail.after])).toEqual([['stalled', 'arrived_at_facility']])
  })
})
