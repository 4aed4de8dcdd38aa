import { describe, expect, it } from 'vitest'
import { deviceTopic } from '../../proto/topics.js'
import { connectDevice, eventually, publish } from '../support/clients.js'
import { createTestDatabase } from '../support/database.js'
import { redisMissing, startRedis } from '../support/redis.js'
import { startTestServer } from '../support/server.js'

describe.skipIf(redisMissing !== undefined)('cluster mode when Redis goes away', () => {
  it('a connected tracker goes on being stored and acknowledged, and devices connect again once Redis is back', async () => {
    const redis = await startRedis()
    const server = await startTestServer({ env: { REDIS_URL: redis.url } })
    let back: Awaited<ReturnType<typeof startRedis>> | undefined
    try {
      const { secret } = await server.registerDevice('van-out')
      const tracker = await connectDevice(server.mqttUrl, 'van-out', secret)
      let closed = false
      tracker.on('close', () => { closed = true })
      const fix = (seq: number): string => JSON.stringify({ time: Date.now(), lat: 13.7, lon: 100.5, seq })
      await publish(tracker, deviceTopic('van-out', 'fix'), fix(1))
      await redis.stop()
      for (let seq = 2; seq <= 6; seq++) {
        // each resolves on its PUBACK, sent once the fix is committed
        await publish(tracker, deviceTopic('van-out', 'fix'), fix(seq))
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      expect(closed).toBe(false)
      const { rows } = await server.db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM positions WHERE device_id = 'van-out'")
      expect(rows[0]?.n).toBe(6)
      const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text()
      expect(Number(/trackstream_mqtt_cluster_undelivered_total (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(5)
      await tracker.endAsync(true)

      back = await startRedis(redis.port)
      await eventually(async () => { await (await connectDevice(server.mqttUrl, 'van-out', secret, { connectTimeout: 2000 })).endAsync() }, 15_000)
    } finally {
      await server.close()
      await back?.stop()
    }
  }, 60_000)

  it('stops cleanly while Redis is away, without waiting for it', async () => {
    const redis = await startRedis()
    const server = await startTestServer({ env: { REDIS_URL: redis.url } })
    await redis.stop()
    // a moment for the connections to notice and start reconnecting
    await new Promise((resolve) => setTimeout(resolve, 500))
    const started = Date.now()
    await server.close()
    expect(Date.now() - started).toBeLessThan(10_000)
  }, 30_000)

  it('a custody move made while Redis was away reaches the other instance once it is back', async () => {
    const redis = await startRedis()
    const db = await createTestDatabase()
    const a = await startTestServer({ db, env: { REDIS_URL: redis.url } })
    const b = await startTestServer({ db, env: { REDIS_URL: redis.url } })
    let back: Awaited<ReturnType<typeof startRedis>> | undefined
    try {
      expect((await a.api('POST', '/api/vehicles', { id: 'VO', name: 'Van O' })).status).toBe(201)
      expect((await a.api('POST', '/api/parcels', { trackingNumber: 'OUT-1', destination: { city: 'Bangkok', country: 'TH' } })).status).toBe(201)
      await redis.stop()
      const moved = await a.api<{ loaded: number }>('POST', '/api/custody', { items: [{ parcel: 'OUT-1' }], into: { vehicle: 'VO' }, time: new Date().toISOString() })
      expect(moved.body.loaded).toBe(1)
      const aboard = async (): Promise<string[]> => (await b.api<{ parcels: Array<{ trackingNumber: string }> }>('GET', '/api/vehicles/VO/aboard')).body.parcels.map((p) => p.trackingNumber)
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(await aboard()).toEqual([])
      back = await startRedis(redis.port)
      await eventually(async () => { expect(await aboard()).toEqual(['OUT-1']) }, 15_000)
    } finally {
      await a.close()
      await b.close()
      await db.drop()
      await back?.stop()
    }
  }, 60_000)
})
