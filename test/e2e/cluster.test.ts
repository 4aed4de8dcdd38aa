import { Redis } from 'ioredis'
import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceTopic } from '../../proto/topics.js'
import { connectDevice, eventually, FrameCollector, publish } from '../support/clients.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'
import { redisMissing, startRedis, type TestRedis } from '../support/redis.js'
import { startTestServer, TEST_API_KEY, type TestServer } from '../support/server.js'

if (redisMissing !== undefined) console.warn(`skipping the cluster tests: ${redisMissing}`)

interface Frame { type: string, positions?: Array<{ deviceId: string, lat: number }>, milestones?: Array<{ code: string }> }

describe.skipIf(redisMissing !== undefined)('cluster mode: two instances on one PostgreSQL and one Redis', () => {
  let redis: TestRedis
  let db: TestDatabase
  let a: TestServer
  let b: TestServer
  const clients: MqttClient[] = []
  const sockets: Array<FrameCollector<Frame>> = []

  beforeAll(async () => {
    redis = await startRedis()
    db = await createTestDatabase()
    const env = { REDIS_URL: redis.url, GEOFENCE_DWELL_MS: '2000', RFID_WINDOW_MS: '1000' }
    a = await startTestServer({ db, env })
    b = await startTestServer({ db, env })
  })
  afterAll(async () => {
    for (const socket of sockets) socket.close()
    await Promise.all(clients.map(async (client) => { await client.endAsync(true) }))
    await a?.close()
    await b?.close()
    await db?.drop()
    await redis?.stop()
  })

  it('an ops viewer on B sees the fixes of a tracker connected to A', async () => {
    const { secret } = await a.registerDevice('van-a1')
    const ops = await FrameCollector.open<Frame>(`${b.wsUrl}/ws/live`, { authorization: `Bearer ${TEST_API_KEY}` })
    sockets.push(ops)
    await ops.waitFor((frame) => frame.type === 'snapshot')
    const tracker = await connectDevice(a.mqttUrl, 'van-a1', secret)
    clients.push(tracker)
    await publish(tracker, deviceTopic('van-a1', 'fix'), JSON.stringify({ time: Date.now(), lat: 13.7512, lon: 100.5, seq: 1 }))
    const frame = await ops.waitFor((f) => f.positions?.some((p) => p.deviceId === 'van-a1') === true)
    expect(frame.positions?.find((p) => p.deviceId === 'van-a1')?.lat).toBe(13.7512)
  })

  it('a buyer on B hears a milestone recorded through A, once', async () => {
    const created = await a.api<{ id: string, trackingUrl: string, createdAt: string }>('POST', '/api/parcels', { trackingNumber: 'CL-1', destination: { city: 'Bangkok', country: 'TH' } })
    expect(created.status).toBe(201)
    const token = new URL(created.body.trackingUrl, a.httpUrl).pathname.split('/').pop() ?? ''
    const buyer = await FrameCollector.open<Frame>(`${b.wsUrl}/ws/track/${token}`)
    sockets.push(buyer)
    await buyer.waitFor((frame) => frame.type === 'snapshot')
    const time = new Date(Date.parse(created.body.createdAt) + 1000).toISOString()
    expect((await a.api('POST', `/api/parcels/${created.body.id}/milestones`, { code: 'out_for_delivery', time })).status).toBe(201)
    await buyer.waitFor((frame) => frame.type === 'milestones')
    // a moment for a second copy, were one coming
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(buyer.frames.filter((frame) => frame.type === 'milestones').map((frame) => frame.milestones?.map((m) => m.code))).toEqual([['out_for_delivery']])
  })

  it('the brokers share subscriptions: a device subscribed on B gets what it published on A', async () => {
    const { secret } = await a.registerDevice('van-a2')
    const listener = await eventually(async () => await connectDevice(b.mqttUrl, 'van-a2', secret))
    clients.push(listener)
    await listener.subscribeAsync(deviceTopic('van-a2', 'fix'), { qos: 1 })
    const received = new Promise<string>((resolve) => { listener.once('message', (_topic, payload) => { resolve(payload.toString()) }) })
    const sender = await connectDevice(a.mqttUrl, 'van-a2', secret)
    clients.push(sender)
    const fix = JSON.stringify({ time: Date.now(), lat: 13.76, lon: 100.51, seq: 1 })
    await publish(sender, deviceTopic('van-a2', 'fix'), fix)
    expect(await received).toBe(fix)
  })

  it('a dock reader on A loads parcels onto a van whose tracker is on B; the van leaving the depot gives each parcel departed_facility once', async () => {
    const DEPOT = { lat: 13.70, lon: 100.60 }
    const door = await a.registerDevice('door-c', 'reader')
    const { secret } = await a.registerDevice('van-c')
    expect((await a.api('POST', '/api/vehicles', { id: 'VC', name: 'Van C', deviceId: 'van-c' })).status).toBe(201)
    expect((await a.api('POST', '/api/stations', { id: 'DEPOT-C', name: 'Depot C', kind: 'depot', ...DEPOT, city: 'Bangkok', country: 'TH' })).status).toBe(201)
    expect((await a.api('POST', '/api/geofences', { id: 'F-DEPOT-C', name: 'Depot C yard', kind: 'station', stationId: 'DEPOT-C', shape: { type: 'circle', ...DEPOT, radiusM: 200 } })).status).toBe(201)
    expect((await a.api('PUT', '/api/readers/door-c', {
      stationId: 'DEPOT-C', milestone: 'arrived_at_facility', antennas: [{ port: 1, milestone: 'loaded', side: 'inner' }, { port: 2, milestone: 'loaded', side: 'outer' }]
    })).status).toBe(200)
    expect((await a.api('PUT', '/api/readers/door-c/vehicle', { vehicleId: 'VC' })).status).toBe(200)
    const epcs = ['3034257BF7194E4000001B01', '3034257BF7194E4000001B02', '3034257BF7194E4000001B03']
    const ids: string[] = []
    for (const [i, epc] of epcs.entries()) {
      const created = await a.api<{ id: string }>('POST', '/api/parcels', { trackingNumber: `CL-DOCK-${i}`, epc, destination: { city: 'Bangkok', country: 'TH' } })
      expect(created.status).toBe(201)
      ids.push(created.body.id)
    }
    const start = Date.now()
    // the van, on B, waits in the depot yard
    const van = await eventually(async () => await connectDevice(b.mqttUrl, 'van-c', secret))
    clients.push(van)
    for (const s of [-30, -29, -28]) await publish(van, deviceTopic('van-c', 'fix'), JSON.stringify({ time: start + s * 1000, ...DEPOT }))
    // the dock door, on A, reads each tag pass inside then outside: loaded onto VC
    const reader = await eventually(async () => await connectDevice(a.mqttUrl, 'door-c', door.secret))
    clients.push(reader)
    const reads = epcs.flatMap((epc, i) => [1, 1, 1, 2, 2, 2].map((antenna, k) => ({ epc, antenna, rssi: -50, time: start - 10_000 + i * 1000 + k * 100 })))
    await publish(reader, deviceTopic('door-c', 'scan'), JSON.stringify(reads))
    // B has heard of the moves A committed
    await eventually(async () => {
      const aboard = await b.api<{ parcels: Array<{ id: string }> }>('GET', '/api/vehicles/VC/aboard')
      expect(aboard.body.parcels.map((p) => p.id).sort()).toEqual([...ids].sort())
    }, 10_000)
    // the van drives out, well past the fence's edge and its hysteresis, for longer than the dwell
    for (let s = 0; s <= 4; s++) await publish(van, deviceTopic('van-c', 'fix'), JSON.stringify({ time: start + s * 1000, lat: DEPOT.lat + 0.006, lon: DEPOT.lon }))
    const departures = async (): Promise<Array<{ parcel: string, n: number }>> => (await db.pool.query<{ parcel: string, n: number }>(
      "SELECT parcel_id::text AS parcel, count(*)::int AS n FROM milestones WHERE code = 'departed_facility' GROUP BY 1 ORDER BY 1")).rows
    await eventually(async () => { expect(await departures()).toEqual([...ids].sort().map((parcel) => ({ parcel, n: 1 }))) }, 10_000)
    // and no second copy from A, which also heard every fix of the van on the live channel
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(await departures()).toEqual([...ids].sort().map((parcel) => ({ parcel, n: 1 })))
  })

  it('a persistent session made on A is resumed on B, with what was queued for it', async () => {
    const { secret } = await a.registerDevice('van-a3')
    const first = await connectDevice(a.mqttUrl, 'van-a3', secret, { clientId: 'van-a3-cab', clean: false })
    await first.subscribeAsync(deviceTopic('van-a3', 'fix'), { qos: 1 })
    await first.endAsync()
    const sender = await connectDevice(a.mqttUrl, 'van-a3', secret)
    clients.push(sender)
    const fix = JSON.stringify({ time: Date.now(), lat: 13.77, lon: 100.52, seq: 1 })
    await publish(sender, deviceTopic('van-a3', 'fix'), fix)
    // A acknowledges a device's publish once it is stored, and queues it for offline sessions just after
    const peek = new Redis(redis.url)
    try {
      await eventually(async () => { expect(await peek.llen(`outgoing:${encodeURIComponent('van-a3/van-a3-cab')}`)).toBe(1) })
    } finally {
      peek.disconnect()
    }
    // B learns of the device through config sync, a moment after A registered it
    await eventually(async () => { await (await connectDevice(b.mqttUrl, 'van-a3', secret)).endAsync() })
    // listening before the CONNACK: the queued message may come in the same read
    const resumed = mqtt.connect(b.mqttUrl, { username: 'van-a3', password: secret, clientId: 'van-a3-cab', clean: false, reconnectPeriod: 0 })
    clients.push(resumed)
    const queued = await new Promise<string>((resolve) => { resumed.once('message', (_topic, payload) => { resolve(payload.toString()) }) })
    expect(queued).toBe(fix)
  })
})
