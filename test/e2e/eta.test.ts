import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceTopic } from '../../proto/topics.js'
import { connectDevice, eventually, FrameCollector, publish } from '../support/clients.js'
import { startTestServer, type TestServer } from '../support/server.js'

interface Frame { type: string, eta?: { time: string, basis: string }, tracking?: { eta: { time: string, basis: string } | null } }
interface Tracking { eta: { time: string, basis: string } | null }

const MIN = 60_000
const HOUR = 60 * MIN
const ENV = { ETA_SWEEP_MS: '3600000', EXCEPTION_SWEEP_MS: '3600000', ETA_PUSH_THRESHOLD_MS: String(MIN), STOP_SERVICE_MS: String(2 * MIN) }
// 0.01° of latitude is about 1.11 km
const DEPOT = { lat: 13.70, lon: 100.60 }
const NEAR = { lat: 13.75, lon: 100.60 }
const FAR = { lat: 13.80, lon: 100.60 }

describe('ETA: from the van while out for delivery, from the lane before', () => {
  let server: TestServer
  let van: MqttClient
  let now = Date.now() - 6 * HOUR
  const tokens: Record<string, string> = {}
  let buyer: FrameCollector<Frame>

  const fix = async (lat: number): Promise<void> => {
    await publish(van, deviceTopic('van-1', 'fix'), JSON.stringify({ time: now, lat, lon: DEPOT.lon }))
  }
  const tracking = async (number: string): Promise<Tracking> => await (await fetch(`${server.httpUrl}/api/track/${tokens[number]}`)).json() as Tracking
  const minutesAway = (iso: string | undefined): number => Math.round((Date.parse(iso ?? '') - now) / MIN)
  const etaFrames = (): Frame[] => buyer.frames.filter((f) => f.type === 'eta')
  const parcel = async (trackingNumber: string, destination: Record<string, unknown>, originCountry = 'CN'): Promise<void> => {
    const created = await server.api<{ trackingUrl: string }>('POST', '/api/parcels', { trackingNumber, originCountry, destination: { city: 'Bangkok', country: 'TH', ...destination } })
    expect(created.status).toBe(201)
    tokens[trackingNumber] = new URL(created.body.trackingUrl).pathname.split('/').pop() ?? ''
  }

  beforeAll(async () => {
    server = await startTestServer({ env: ENV, clock: () => now })
    const { secret } = await server.registerDevice('van-1')
    expect((await server.api('POST', '/api/vehicles', { id: 'V1', name: 'Van 1', deviceId: 'van-1' })).status).toBe(201)
    await parcel('TS-NEAR', NEAR)
    await parcel('TS-FAR', FAR)
    van = await connectDevice(server.mqttUrl, 'van-1', secret)
    await fix(DEPOT.lat)
    expect((await server.api('POST', '/api/custody', { items: [{ parcel: 'TS-NEAR' }, { parcel: 'TS-FAR' }], into: { vehicle: 'V1' } })).status).toBe(200)
    for (const number of ['TS-NEAR', 'TS-FAR']) expect((await server.api('POST', `/api/parcels/${number}/milestones`, { code: 'out_for_delivery' })).status).toBe(201)
    buyer = await FrameCollector.open<Frame>(`${server.wsUrl}/ws/track/${tokens['TS-FAR']}`)
    await buyer.waitFor((f) => f.type === 'snapshot')
  })

  afterAll(async () => {
    buyer?.close()
    await van?.endAsync()
    await server?.close()
  })

  it('estimates from the van\'s position and its stops, nearest first, and pushes it to the buyer', async () => {
    await server.app.sweepEtas()
    const frame = await buyer.waitFor((f) => f.type === 'eta')
    expect(frame.eta?.basis).toBe('route')
    // no speed history: 20 km/h over 1.3 × the great-circle legs, 5.6 km each, plus 2 min at the first stop
    expect(minutesAway(frame.eta?.time)).toBe(Math.round(2 * 5.56 * 1.3 / 20 * 60 + 2))
    expect((await tracking('TS-NEAR')).eta).toMatchObject({ basis: 'route' })
    expect(minutesAway((await tracking('TS-NEAR')).eta?.time)).toBe(Math.round(5.56 * 1.3 / 20 * 60))
  })

  it('pushes again only when the ETA moves by more than the threshold', async () => {
    now += 10_000
    await server.app.sweepEtas()
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(etaFrames()).toHaveLength(1)
    // the van drives north at about 40 km/h: faster than assumed, so the ETA comes earlier
    for (let i = 1; i <= 6; i++) {
      now += 30_000
      await fix(DEPOT.lat + i * 0.003)
    }
    await server.app.sweepEtas()
    const frames = await eventually(async () => {
      expect(etaFrames()).toHaveLength(2)
      return etaFrames()
    })
    expect(Date.parse(frames[1]?.eta?.time ?? '')).toBeLessThan(Date.parse(frames[0]?.eta?.time ?? '') - MIN)
  })

  it('moves the far parcel up once the near one is delivered, and drops the ETA at delivery', async () => {
    const before = Date.parse(etaFrames().at(-1)?.eta?.time ?? '')
    expect((await server.api('POST', '/api/parcels/TS-NEAR/milestones', { code: 'delivered' })).status).toBe(201)
    await server.app.sweepEtas()
    await eventually(async () => { expect(etaFrames()).toHaveLength(3) })
    expect(Date.parse(etaFrames().at(-1)?.eta?.time ?? '')).toBeLessThan(before - MIN)
    expect((await server.api('POST', '/api/parcels/TS-FAR/milestones', { code: 'delivered' })).status).toBe(201)
    await server.app.sweepEtas()
    expect((await tracking('TS-FAR')).eta).toBeNull()
  })

  it('estimates a parcel early in its journey from how long the rest took on its lane', async () => {
    for (let i = 0; i < 5; i++) {
      await parcel(`TS-HIST-${i}`, {}, 'VN')
      expect((await server.api('POST', `/api/parcels/TS-HIST-${i}/milestones`, { code: 'delivered', time: new Date(now + (48 + i) * HOUR).toISOString() })).status).toBe(201)
    }
    await parcel('TS-EARLY', {}, 'VN')
    await parcel('TS-OTHER-LANE', {}, 'MY')
    await server.app.sweepEtas()
    const early = await tracking('TS-EARLY')
    expect(early.eta?.basis).toBe('lane')
    expect(Math.round((Date.parse(early.eta?.time ?? '') - now) / HOUR)).toBe(50)
    expect((await tracking('TS-OTHER-LANE')).eta).toBeNull()
  })
})
