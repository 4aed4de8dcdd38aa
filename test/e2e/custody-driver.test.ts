import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceTopic } from '../../proto/topics.js'
import { connectDevice, FrameCollector, publish } from '../support/clients.js'
import { startTestServer, type TestServer } from '../support/server.js'

interface Parcel { id: string, trackingUrl: string, aboard: { vehicleId: string, via: string[] } | null, position: { lat: number, lon: number } | null }
interface Entry { code: string, source: string, lat: number | null, lon: number | null, vehicleId: string | null, tag: string, subtag: string, detail: Record<string, unknown> | null }
interface Frame { type: string, milestones?: Array<{ code: string }> }

const PARCEL_TAG = '3034257BF7194E4000001A85'
const TOTE_TAG = 'E28011606000020400001234'

describe('parcels ride with vehicles; drivers record deliveries', () => {
  let server: TestServer
  let van: MqttClient
  let door: MqttClient
  let driver: MqttClient
  let driverSecret: string
  const parcels: Record<string, Parcel> = {}
  // every event a second after the one before, all after the parcels were registered
  let clock = Date.now()
  const now = (): number => (clock += 1000)

  const timeline = async (id: string): Promise<Entry[]> =>
    (await server.api<{ items: Entry[] }>('GET', `/api/parcels/${id}/timeline`)).body.items
  const parcel = async (id: string): Promise<Parcel> => (await server.api<Parcel>('GET', `/api/parcels/${id}`)).body
  const aboard = async (): Promise<Array<{ trackingNumber: string, via: string[] }>> =>
    (await server.api<{ parcels: Array<{ trackingNumber: string, via: string[] }> }>('GET', '/api/vehicles/V1/aboard')).body.parcels
  const driverPost = async (body: unknown): Promise<{ status: number, body: { rejects: Array<{ reason: string }> } }> => {
    const response = await fetch(`${server.httpUrl}/api/driver/events`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`driver-1:${driverSecret}`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify(body)
    })
    return { status: response.status, body: await response.json() as { rejects: Array<{ reason: string }> } }
  }

  beforeAll(async () => {
    server = await startTestServer()
    const tracker = await server.registerDevice('van-1')
    const reader = await server.registerDevice('door-1', 'reader')
    driverSecret = (await server.registerDevice('driver-1')).secret
    expect((await server.api('POST', '/api/vehicles', { id: 'V1', name: 'Van 1', deviceId: 'van-1' })).status).toBe(201)
    expect((await server.api('POST', '/api/stations', { id: 'DEPOT', name: 'Bangkok depot', kind: 'depot', lat: 13.7, lon: 100.6, city: 'Bangkok', country: 'TH' })).status).toBe(201)
    expect((await server.api('PUT', '/api/readers/door-1', { stationId: 'DEPOT', milestone: 'loaded' })).status).toBe(200)
    for (const [number, extra] of [['TS-COD', { epc: PARCEL_TAG, cashOnDelivery: { amount: 350, currency: 'THB' } }], ['TS-TOTE', {}], ['TS-MISS', {}]] as const) {
      const created = await server.api<Parcel>('POST', '/api/parcels', { trackingNumber: number, destination: { city: 'Bangkok', country: 'TH' }, ...extra })
      expect(created.status).toBe(201)
      parcels[number] = created.body
    }
    clock = Date.now()
    van = await connectDevice(server.mqttUrl, 'van-1', tracker.secret)
    door = await connectDevice(server.mqttUrl, 'door-1', reader.secret)
    driver = await connectDevice(server.mqttUrl, 'driver-1', driverSecret)
    await publish(van, deviceTopic('van-1', 'fix'), JSON.stringify({ time: now(), lat: 13.701, lon: 100.601 }))
  })

  afterAll(async () => {
    await van?.endAsync()
    await door?.endAsync()
    await driver?.endAsync()
    await server?.close()
  })

  it('loads a parcel once when a dock door serving the van reads its tag again and again, and places it at the van', async () => {
    expect((await server.api('PUT', '/api/readers/door-1/vehicle', { vehicleId: 'V1' })).status).toBe(200)
    const t = now()
    await publish(door, deviceTopic('door-1', 'scan'), JSON.stringify([0, 100, 200, 300, 400].map((ms) => ({ epc: PARCEL_TAG, antenna: 1, time: t + ms }))))
    const entries = await timeline(parcels['TS-COD']?.id ?? '')
    expect(entries.map((e) => e.code)).toEqual(['info_received', 'loaded'])
    expect(entries[1]).toMatchObject({ source: 'rfid', vehicleId: 'V1', lat: 13.701, lon: 100.601, tag: 'InTransit', subtag: 'InTransit_001' })
    expect(await parcel(parcels['TS-COD']?.id ?? '')).toMatchObject({ aboard: { vehicleId: 'V1', via: [] }, position: { lat: 13.701, lon: 100.601 } })
  })

  it('loads a tote with the parcels packed in it, and the parcel follows the van as it drives', async () => {
    expect((await server.api('POST', '/api/containers', { id: 'TOTE-1', kind: 'tote', epc: TOTE_TAG })).status).toBe(201)
    const packed = await server.api<{ moved: string[], loaded: number }>('POST', '/api/custody', { items: [{ parcel: 'TS-TOTE' }], into: { container: 'TOTE-1' }, time: new Date(now()).toISOString() })
    expect(packed.body).toMatchObject({ moved: [`parcel:${parcels['TS-TOTE']?.id}`], loaded: 0 })
    await publish(door, deviceTopic('door-1', 'scan'), JSON.stringify({ epc: TOTE_TAG, antenna: 1, time: now() }))
    expect((await timeline(parcels['TS-TOTE']?.id ?? '')).map((e) => e.code)).toEqual(['info_received', 'loaded'])
    expect((await aboard()).map((p) => [p.trackingNumber, p.via]).sort()).toEqual([['TS-COD', []], ['TS-TOTE', ['TOTE-1']]])

    await publish(van, deviceTopic('van-1', 'fix'), JSON.stringify({ time: now(), lat: 13.75, lon: 100.52 }))
    expect(await parcel('TS-TOTE')).toMatchObject({ aboard: { vehicleId: 'V1', via: ['TOTE-1'] }, position: { lat: 13.75, lon: 100.52 } })
  })

  it('records a COD delivery from the driver app over MQTT, at the driver\'s fix, and takes the parcel off the van', async () => {
    const token = new URL(parcels['TS-COD']?.trackingUrl ?? '').pathname.split('/').pop() ?? ''
    const buyer = await FrameCollector.open<Frame>(`${server.wsUrl}/ws/track/${token}`)
    await publish(driver, deviceTopic('driver-1', 'fix'), JSON.stringify({ time: now(), lat: 13.76, lon: 100.53 }))
    const delivered = { type: 'delivered', parcel: 'TS-COD', time: now(), proof: { kind: 'photo', ref: 'pod/TS-COD.jpg' }, cod: { amount: '350.00', currency: 'THB' }, recipient: 'Khun Somchai' }
    await publish(driver, deviceTopic('driver-1', 'driver'), JSON.stringify(delivered))
    // the app resends when it misses the answer: recorded once
    await publish(driver, deviceTopic('driver-1', 'driver'), JSON.stringify(delivered))
    const entries = await timeline('TS-COD')
    expect(entries.map((e) => e.code)).toEqual(['info_received', 'loaded', 'delivered'])
    expect(entries[2]).toEqual(expect.objectContaining({
      source: 'driver', vehicleId: 'V1', lat: 13.76, lon: 100.53, tag: 'Delivered', subtag: 'Delivered_004',
      detail: { proof: { kind: 'photo', ref: 'pod/TS-COD.jpg' }, cod: { amount: '350.00', currency: 'THB' }, recipient: 'Khun Somchai' }
    }))
    expect(await parcel('TS-COD')).toMatchObject({ aboard: null, position: null })
    expect((await aboard()).map((p) => p.trackingNumber)).toEqual(['TS-TOTE'])
    expect((await buyer.waitFor((f) => f.type === 'milestones' && f.milestones?.some((m) => m.code === 'delivered') === true)).milestones).toHaveLength(1)
    buyer.close()
  })

  it('records a failed attempt over HTTP with its reason, and says why it refuses an unknown parcel or cash in the wrong currency', async () => {
    const attempt = await driverPost({ type: 'attempt_failed', parcel: 'TS-MISS', time: now(), reason: 'recipient_not_available', lat: 13.8, lon: 100.55 })
    expect(attempt).toEqual({ status: 200, body: { accepted: { fixes: 0, scans: 0, events: 1 }, rejects: [] } })
    expect((await timeline('TS-MISS')).at(-1)).toMatchObject({ code: 'delivery_attempted', subtag: 'AttemptFail_002', detail: { reason: 'recipient_not_available' }, lat: 13.8 })

    const refused = await driverPost([
      { type: 'delivered', parcel: 'NO-SUCH', time: now() },
      { type: 'cod_collected', parcel: 'TS-COD', time: now(), cod: { amount: '10', currency: 'USD' } },
      { type: 'attempt_failed', parcel: 'TS-MISS', time: now() }
    ])
    expect(refused.status).toBe(200)
    expect(refused.body.rejects.map((r) => r.reason)).toEqual(['invalid_driver_event', 'unknown_parcel', 'cod_mismatch'])
    const kept = await server.db.pool.query<{ reasons: string[] }>("SELECT reasons FROM ingest_rejects WHERE device_id = 'driver-1'")
    expect(kept.rows.map((r) => [...r.reasons].sort())).toEqual([['cod_mismatch', 'invalid_driver_event', 'unknown_parcel']])
    const device = await server.api<{ status: { rejects: Record<string, number> } }>('GET', '/api/devices/driver-1')
    expect(device.body.status.rejects).toMatchObject({ unknown_parcel: 1, cod_mismatch: 1, invalid_driver_event: 1 })
  })

  it('takes a parcel out of its tote by API: unloaded from the van, placed where the van is', async () => {
    const moved = await server.api<{ unloaded: number }>('POST', '/api/custody', { items: [{ parcel: 'TS-TOTE' }], into: null, stationId: 'DEPOT', time: new Date(now()).toISOString() })
    expect(moved.body.unloaded).toBe(1)
    expect((await timeline('TS-TOTE')).at(-1)).toMatchObject({ code: 'unloaded', vehicleId: 'V1', lat: 13.75, lon: 100.52 })
    const back = await server.api<{ loaded: number }>('POST', '/api/custody', { items: [{ parcel: 'TS-TOTE' }], into: { container: 'TOTE-1' }, time: new Date(now()).toISOString() })
    expect(back.body.loaded).toBe(1)
  })

  it('refuses moves that make no sense with a clear error', async () => {
    expect((await server.api<{ code: string }>('POST', '/api/custody', { items: [{ parcel: 'NOPE' }], into: null })).body.code).toBe('TS_UNKNOWN_REFERENCE')
    expect((await server.api<{ code: string }>('POST', '/api/custody', { items: [{ container: 'TOTE-1' }], into: { vehicle: 'V9' } })).body.code).toBe('TS_UNKNOWN_REFERENCE')
    const cycle = await server.api<{ refused: Array<{ why: string }> }>('POST', '/api/custody', { items: [{ container: 'TOTE-1' }], into: { container: 'TOTE-1' } })
    expect(cycle.body.refused).toEqual([{ item: 'container:TOTE-1', why: 'would_contain_itself' }])
  })

  it('lists the vocabulary with its tags and EPCIS steps', async () => {
    const { body } = await server.api<{ items: Array<{ code: string, subtag: string, bizStep: string }>, attemptReasons: unknown[] }>('GET', '/api/milestone-codes')
    expect(body.items.find((m) => m.code === 'customs_cleared')).toMatchObject({ subtag: 'InTransit_005', bizStep: 'inspecting' })
    expect(body.attemptReasons.length).toBeGreaterThan(3)
  })

  it('remembers what rides in what across a restart', async () => {
    const db = server.db
    await van.endAsync()
    await door.endAsync()
    await driver.endAsync()
    await server.app.close()
    server = await startTestServer({ db })
    expect((await aboard()).map((p) => [p.trackingNumber, p.via])).toEqual([['TS-TOTE', ['TOTE-1']]])
    const container = await server.api<{ carriers: string[], contents: string[] }>('GET', '/api/containers/TOTE-1')
    expect(container.body).toMatchObject({ carriers: ['vehicle:V1'], contents: [`parcel:${parcels['TS-TOTE']?.id}`] })
  })
})
