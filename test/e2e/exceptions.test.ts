import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceTopic } from '../../proto/topics.js'
import { connectDevice, publish } from '../support/clients.js'
import { startTestServer, type TestServer } from '../support/server.js'

interface ExceptionItem {
  kind: string
  parcel: { trackingNumber: string } | null
  vehicleId: string | null
  openedAt: string
  clearedAt: string | null
  ageSeconds: number
  detail: { basis?: string, after?: string }
  lastPosition: { lat: number, lon: number, source: string } | null
  lastMilestone: { code: string } | null
}

const MIN = 60_000
const HOUR = 60 * MIN
const ENV = { EXCEPTION_SWEEP_MS: '3600000', STALL_SLA_MS: String(HOUR), CUSTOMS_SLA_MS: String(2 * HOUR), VEHICLE_SILENT_MS: String(10 * MIN) }

describe('exceptions raise and clear themselves', () => {
  let server: TestServer
  let van: MqttClient
  let secret: string
  let now = Date.now() - 12 * HOUR

  const advance = async (ms: number): Promise<void> => {
    now += ms
    await server.app.sweepExceptions()
  }
  const list = async (state: 'open' | 'all' = 'open'): Promise<ExceptionItem[]> =>
    (await server.api<{ items: ExceptionItem[] }>('GET', `/api/exceptions?state=${state}`)).body.items
  const openOf = async (trackingNumber: string): Promise<string[]> =>
    (await list()).filter((e) => e.parcel?.trackingNumber === trackingNumber).map((e) => e.kind).sort()
  const milestone = async (parcel: string, code: string, extra: Record<string, unknown> = {}): Promise<void> => {
    expect((await server.api('POST', `/api/parcels/${parcel}/milestones`, { code, ...extra })).status).toBe(201)
  }
  const parcel = async (trackingNumber: string, originCountry = 'CN'): Promise<void> => {
    expect((await server.api('POST', '/api/parcels', { trackingNumber, originCountry, destination: { city: 'Bangkok', country: 'TH' } })).status).toBe(201)
  }
  const codes = async (trackingNumber: string): Promise<string[]> =>
    (await server.api<{ items: Array<{ code: string }> }>('GET', `/api/parcels/${trackingNumber}/timeline`)).body.items.map((m) => m.code)

  beforeAll(async () => {
    server = await startTestServer({ env: ENV, clock: () => now })
    secret = (await server.registerDevice('van-1')).secret
    expect((await server.api('POST', '/api/vehicles', { id: 'V1', name: 'Van 1', deviceId: 'van-1' })).status).toBe(201)
    expect((await server.api('POST', '/api/stations', { id: 'HUB', name: 'Hub', kind: 'hub', lat: 13.8, lon: 100.7, city: 'Bangkok', country: 'TH' })).status).toBe(201)
    van = await connectDevice(server.mqttUrl, 'van-1', secret)
  })

  afterAll(async () => {
    await van?.endAsync()
    await server?.close()
  })

  it('raises a stall when a step outlasts its SLA, with its age and last position, and clears it on the next milestone', async () => {
    await parcel('TS-STALL')
    await advance(10 * MIN)
    await milestone('TS-STALL', 'arrived_at_facility', { stationId: 'HUB' })
    await advance(50 * MIN)
    expect(await openOf('TS-STALL')).toEqual([])
    await advance(15 * MIN)
    const [stall] = await list()
    expect(stall).toMatchObject({
      kind: 'stalled', parcel: { trackingNumber: 'TS-STALL' }, clearedAt: null, ageSeconds: 5 * 60,
      detail: { basis: 'sla', after: 'arrived_at_facility' }, lastPosition: { lat: 13.8, lon: 100.7, source: 'milestone' }
    })
    expect(await codes('TS-STALL')).toEqual(['info_received', 'arrived_at_facility', 'stalled'])
    // sweeping again neither raises it twice nor records its milestone twice
    await advance(MIN)
    expect(await openOf('TS-STALL')).toEqual(['stalled'])
    expect(await codes('TS-STALL')).toEqual(['info_received', 'arrived_at_facility', 'stalled'])

    await milestone('TS-STALL', 'departed_facility', { stationId: 'HUB' })
    await advance(MIN)
    expect(await openOf('TS-STALL')).toEqual([])
    expect((await list('all')).find((e) => e.parcel?.trackingNumber === 'TS-STALL')).toMatchObject({ kind: 'stalled', clearedAt: new Date(now).toISOString() })
  })

  it('suspects a parcel lost after four thresholds without news, and raises a customs dwell past the customs SLA', async () => {
    await parcel('TS-LOST')
    await parcel('TS-CUSTOMS')
    await milestone('TS-CUSTOMS', 'customs_entered')
    await advance(2 * HOUR + MIN)
    expect(await openOf('TS-CUSTOMS')).toEqual(['customs_dwell', 'stalled'])
    expect(await codes('TS-CUSTOMS')).toEqual(['info_received', 'customs_entered', 'stalled', 'customs_delayed'])
    await advance(2 * HOUR)
    expect(await openOf('TS-LOST')).toEqual(['stalled', 'suspected_lost'])
    await milestone('TS-CUSTOMS', 'customs_cleared')
    await advance(MIN)
    expect(await openOf('TS-CUSTOMS')).toEqual([])
  })

  it('learns the lane: after 20 quick hub stops, 40 minutes at the hub is a stall long before the SLA', async () => {
    for (let i = 0; i < 20; i++) await parcel(`TS-FAST-${i}`, 'VN')
    await advance(MIN)
    for (let i = 0; i < 20; i++) {
      await milestone(`TS-FAST-${i}`, 'arrived_at_facility', { stationId: 'HUB', time: new Date(now).toISOString() })
      await milestone(`TS-FAST-${i}`, 'departed_facility', { stationId: 'HUB', time: new Date(now + (10 + i % 5) * MIN).toISOString() })
    }
    await advance(15 * MIN)
    await parcel('TS-SLOW', 'VN')
    await milestone('TS-SLOW', 'arrived_at_facility', { stationId: 'HUB' })
    await advance(40 * MIN)
    const stall = (await list()).find((e) => e.parcel?.trackingNumber === 'TS-SLOW')
    expect(stall).toMatchObject({ kind: 'stalled', detail: { basis: 'history' } })
    // the same wait on a lane with no history is within the SLA
    await parcel('TS-NEW-LANE', 'MY')
    await milestone('TS-NEW-LANE', 'arrived_at_facility', { stationId: 'HUB' })
    await advance(40 * MIN)
    expect(await openOf('TS-NEW-LANE')).toEqual([])
  })

  it('flags a vehicle carrying parcels that goes silent, and clears it when it reports again', async () => {
    await parcel('TS-VAN')
    await publish(van, deviceTopic('van-1', 'fix'), JSON.stringify({ time: now, lat: 13.75, lon: 100.55 }))
    expect((await server.api('POST', '/api/custody', { items: [{ parcel: 'TS-VAN' }], into: { vehicle: 'V1' } })).status).toBe(200)
    await advance(5 * MIN)
    expect((await list()).filter((e) => e.kind === 'vehicle_silent')).toEqual([])
    await advance(6 * MIN)
    expect((await list()).filter((e) => e.kind === 'vehicle_silent')).toEqual([expect.objectContaining({ vehicleId: 'V1', parcel: null })])
    await publish(van, deviceTopic('van-1', 'fix'), JSON.stringify({ time: now, lat: 13.76, lon: 100.56 }))
    await advance(MIN)
    expect((await list()).filter((e) => e.kind === 'vehicle_silent')).toEqual([])
  })

  it('keeps open exceptions across a restart without raising them again', async () => {
    const before = await list()
    await van.endAsync()
    await server.app.close()
    server = await startTestServer({ db: server.db, env: ENV, clock: () => now })
    van = await connectDevice(server.mqttUrl, 'van-1', secret)
    await server.app.sweepExceptions()
    expect((await list()).map((e) => `${e.kind}:${e.parcel?.trackingNumber}`).sort()).toEqual(before.map((e) => `${e.kind}:${e.parcel?.trackingNumber}`).sort())
    expect((await codes('TS-LOST')).filter((code) => code === 'stalled')).toHaveLength(1)
  })
})
