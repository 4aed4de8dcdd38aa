import { createHmac, timingSafeEqual } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceTopic } from '../../proto/topics.js'
import { connectDevice, eventually, FrameCollector, publish } from '../support/clients.js'
import { startTestServer, type TestServer } from '../support/server.js'

interface Hook { headers: http.IncomingHttpHeaders, raw: string, event: { id: string, type: string, tag: string, subtag: string, occurredAt: string, parcel?: { trackingNumber: string } } }
interface Frame { type: string, milestones?: Array<{ code: string }>, eta?: { time: string, basis: string } }

const TAG = '3034257BF7194E4000001A85'
const DEPOT = { lat: 13.70, lon: 100.60 }
const BUYER = { lat: 13.76, lon: 100.60 }
const ENV = { GEOFENCE_DWELL_MS: '2000', ETA_SWEEP_MS: '3600000', EXCEPTION_SWEEP_MS: '3600000', ETA_PUSH_THRESHOLD_MS: '60000', WEBHOOK_POLL_MS: '50' }

/**
 * The whole path, through the real broker and database: a van is loaded by RFID at the depot's
 * dock door, drives out of the depot's geofence, reaches the buyer, and the driver records a COD
 * delivery. The timeline, the ETA updates, the buyer's frames and the signed webhook calls all
 * match, in order, with no duplicates.
 */
describe('a COD parcel\'s last mile, end to end', () => {
  let server: TestServer
  let van: MqttClient
  let door: MqttClient
  let driver: MqttClient
  let buyer: FrameCollector<Frame>
  let receiver: http.Server
  let secret = ''
  const hooks: Hook[] = []
  let clock = 0
  const tick = (): number => (clock += 1000)
  const drive = async (lat: number): Promise<void> => {
    await publish(van, deviceTopic('van-1', 'fix'), JSON.stringify({ time: tick(), lat, lon: DEPOT.lon }))
  }

  beforeAll(async () => {
    receiver = http.createServer((request, response) => {
      const chunks: Buffer[] = []
      request.on('data', (chunk: Buffer) => chunks.push(chunk))
      request.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8')
        hooks.push({ headers: request.headers, raw, event: JSON.parse(raw) as Hook['event'] })
        response.writeHead(200).end('ok')
      })
    })
    await new Promise<void>((resolve) => { receiver.listen(0, '127.0.0.1', resolve) })
    server = await startTestServer({ env: ENV })
    const subscribed = await server.api<{ secret: string }>('POST', '/api/webhooks', { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`, events: ['*'] })
    secret = subscribed.body.secret
    const vanDevice = await server.registerDevice('van-1')
    const doorDevice = await server.registerDevice('door-1', 'reader')
    const driverDevice = await server.registerDevice('driver-1')
    expect((await server.api('POST', '/api/vehicles', { id: 'V1', name: 'Van 1', deviceId: 'van-1' })).status).toBe(201)
    expect((await server.api('POST', '/api/stations', { id: 'DEPOT', name: 'Bangkok depot', kind: 'depot', ...DEPOT, city: 'Bangkok', country: 'TH', timezone: 'Asia/Bangkok' })).status).toBe(201)
    expect((await server.api('PUT', '/api/readers/door-1', { stationId: 'DEPOT', milestone: 'loaded' })).status).toBe(200)
    expect((await server.api('PUT', '/api/readers/door-1/vehicle', { vehicleId: 'V1' })).status).toBe(200)
    // leaving the last-mile depot with the van is going out for delivery
    expect((await server.api('POST', '/api/geofences', {
      id: 'F-DEPOT', name: 'Depot yard', kind: 'station', stationId: 'DEPOT', onEnter: null, onExit: 'out_for_delivery', shape: { type: 'circle', ...DEPOT, radiusM: 200 }
    })).status).toBe(201)
    const parcel = await server.api<{ trackingUrl: string }>('POST', '/api/parcels', {
      trackingNumber: 'TS-COD-1', epc: TAG, destination: { city: 'Bangkok', country: 'TH', ...BUYER }, cashOnDelivery: { amount: 590, currency: 'THB' }
    })
    expect(parcel.status).toBe(201)
    buyer = await FrameCollector.open<Frame>(`${server.wsUrl}/ws/track/${new URL(parcel.body.trackingUrl).pathname.split('/').pop() ?? ''}`)
    await buyer.waitFor((f) => f.type === 'snapshot')
    van = await connectDevice(server.mqttUrl, 'van-1', vanDevice.secret)
    door = await connectDevice(server.mqttUrl, 'door-1', doorDevice.secret)
    driver = await connectDevice(server.mqttUrl, 'driver-1', driverDevice.secret)
    clock = Date.now()
  })

  afterAll(async () => {
    buyer?.close()
    for (const client of [van, door, driver]) await client?.endAsync()
    await server?.close()
    receiver?.closeAllConnections()
    await new Promise<void>((resolve) => { receiver?.close(() => { resolve() }) })
  })

  it('runs from the dock door to the buyer\'s door', async () => {
    await drive(DEPOT.lat) // parked at the door: first seen inside the yard, so it has not "arrived"
    // the door reads the tag ten times as the parcel goes in
    const read = tick()
    await publish(door, deviceTopic('door-1', 'scan'), JSON.stringify(Array.from({ length: 10 }, (_, i) => ({ epc: TAG, antenna: 1, rssi: -50, time: read + i * 50 }))))
    for (const lat of [13.7030, 13.7060, 13.7090, 13.7150, 13.7300, 13.7450, 13.7580]) await drive(lat)
    await server.app.sweepEtas()
    const firstEta = await buyer.waitFor((f) => f.type === 'eta')
    expect(firstEta.eta?.basis).toBe('route')
    await drive(13.7595)
    await publish(driver, deviceTopic('driver-1', 'driver'), JSON.stringify({
      type: 'delivered', parcel: 'TS-COD-1', time: tick(), lat: BUYER.lat, lon: BUYER.lon, proof: { kind: 'signature', ref: 'pod/TS-COD-1.png' }, cod: { amount: '590.00', currency: 'THB' }
    }))
    await server.app.sweepEtas()

    const timeline = (await server.api<{ items: Array<{ code: string, source: string, subtag: string, vehicleId: string | null }> }>('GET', '/api/parcels/TS-COD-1/timeline')).body.items
    expect(timeline.map((m) => [m.code, m.source])).toEqual([
      ['info_received', 'api'], ['loaded', 'rfid'], ['out_for_delivery', 'geofence'], ['delivered', 'driver']
    ])
    expect(timeline.at(-1)).toMatchObject({ subtag: 'Delivered_004', vehicleId: 'V1' })

    // the buyer saw each public step once, in order, and no more ETAs after delivery
    await buyer.waitFor((f) => f.type === 'milestones' && f.milestones?.some((m) => m.code === 'delivered') === true)
    const seen = buyer.frames.flatMap((f) => f.type === 'milestones' ? (f.milestones ?? []).map((m) => m.code) : f.type === 'eta' ? ['eta'] : [])
    expect(seen).toEqual(['out_for_delivery', 'eta', 'delivered'])

    // the merchant got every milestone, signed, once each; by when they happened, in journey order
    await eventually(async () => { expect(hooks).toHaveLength(4) })
    await new Promise((resolve) => setTimeout(resolve, 300))
    const ordered = [...hooks].sort((a, b) => Date.parse(a.event.occurredAt) - Date.parse(b.event.occurredAt))
    expect(ordered.map((h) => [h.event.type, h.event.subtag])).toEqual([['info_received', 'InfoReceived_001'], ['loaded', 'InTransit_001'], ['out_for_delivery', 'OutForDelivery_001'], ['delivered', 'Delivered_004']])
    expect(new Set(hooks.map((h) => h.event.id)).size).toBe(4)
    for (const hook of hooks) {
      const timestamp = String(hook.headers['x-trackstream-timestamp'])
      const expected = createHmac('sha256', secret).update(`${timestamp}.${hook.raw}`).digest('hex')
      expect(timingSafeEqual(Buffer.from(String(hook.headers['x-trackstream-signature'])), Buffer.from(`sha256=${expected}`))).toBe(true)
      expect(hook.event.parcel?.trackingNumber).toBe('TS-COD-1')
    }
    expect((await server.api<{ aboard: unknown }>('GET', '/api/parcels/TS-COD-1')).body.aboard).toBeNull()
  })
})
