import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceTopic } from '../../proto/topics.js'
import { connectDevice, publish } from '../support/clients.js'
import { startTestServer, type TestServer } from '../support/server.js'

const TAG = '3034257BF7194E4000001A85'
const OTHER = '3034257BF7194E4000001A86'
const INNER = 1
const OUTER = 2

interface Visit { epc: string, reads: number, antennas: number[], direction: string | null, firstSeen: string, lastSeen: string }

describe('a dock door with inner and outer antennas: the way a tag passes says loading or unloading', () => {
  let server: TestServer
  let door: MqttClient
  let now = Date.now()

  /** One pass through the door: `reads` reads on each side, 100 ms apart, first side first. */
  const pass = async (epc: string, first: number, second: number, reads = 4): Promise<void> => {
    const start = now
    const sides = [...Array.from({ length: reads }, () => first), ...Array.from({ length: reads }, () => second)]
    await publish(door, deviceTopic('door-2', 'scan'), JSON.stringify(sides.map((antenna, i) => ({ epc, antenna, rssi: -50 - i, time: start + i * 100 }))))
    now = start + sides.length * 100
  }
  const codes = async (trackingNumber: string): Promise<string[]> =>
    (await server.api<{ items: Array<{ code: string }> }>('GET', `/api/parcels/${trackingNumber}/timeline`)).body.items.map((m) => m.code)

  beforeAll(async () => {
    server = await startTestServer({ env: { RFID_WINDOW_MS: '2000' }, clock: () => now })
    const reader = await server.registerDevice('door-2', 'reader')
    expect((await server.api('POST', '/api/vehicles', { id: 'V1', name: 'Van 1' })).status).toBe(201)
    expect((await server.api('POST', '/api/stations', { id: 'DEPOT', name: 'Depot', kind: 'depot', lat: 13.7, lon: 100.6 })).status).toBe(201)
    expect((await server.api('PUT', '/api/readers/door-2', {
      stationId: 'DEPOT', milestone: 'arrived_at_facility', antennas: [{ port: INNER, milestone: 'loaded', side: 'inner' }, { port: OUTER, milestone: 'loaded', side: 'outer' }]
    })).status).toBe(200)
    expect((await server.api('PUT', '/api/readers/door-2/vehicle', { vehicleId: 'V1' })).status).toBe(200)
    for (const [number, epc] of [['TS-DOOR', TAG], ['TS-PEEK', OTHER]]) {
      expect((await server.api('POST', '/api/parcels', { trackingNumber: number, epc, destination: { city: 'Bangkok', country: 'TH' } })).status).toBe(201)
    }
    now += 1000
    door = await connectDevice(server.mqttUrl, 'door-2', reader.secret)
  })

  afterAll(async () => {
    await door?.endAsync()
    await server?.close()
  })

  it('loads a parcel that passes inner then outer, once, and unloads it when it comes back outer then inner', async () => {
    await pass(TAG, INNER, OUTER)
    expect(await codes('TS-DOOR')).toEqual(['info_received', 'loaded'])
    now += 5000
    await pass(TAG, OUTER, INNER)
    expect(await codes('TS-DOOR')).toEqual(['info_received', 'loaded', 'unloaded'])
  })

  it('moves nothing for a tag read on one side only: a parcel stacked by the door is not loaded', async () => {
    now += 5000
    await publish(door, deviceTopic('door-2', 'scan'), JSON.stringify([0, 1, 2, 3, 4, 5].map((i) => ({ epc: OTHER, antenna: INNER, time: now + i * 100 }))))
    now += 600
    expect(await codes('TS-PEEK')).toEqual(['info_received'])
  })

  it('stores one row per visit, with its reads and the way the tag went', async () => {
    now += 5000
    await server.app.flushVisits()
    const visits = (await server.api<{ items: Visit[] }>('GET', '/api/rfid-visits?readerId=door-2')).body.items
    expect(visits.map((v) => [v.epc, v.reads, v.antennas, v.direction])).toEqual([
      [OTHER, 6, [INNER], null],
      [TAG, 8, [INNER, OUTER], 'unloading'],
      [TAG, 8, [INNER, OUTER], 'loading']
    ])
    const raw = await server.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM rfid_reads')
    expect(raw.rows[0]?.n).toBe(22)
  })

  it('loads whatever a reader mounted in a van reads, once, and places it at the van', async () => {
    const reader = await server.registerDevice('van-reader', 'reader')
    const tracker = await server.registerDevice('van-2')
    expect((await server.api('POST', '/api/vehicles', { id: 'V2', name: 'Van 2', deviceId: 'van-2' })).status).toBe(201)
    const mounted = await server.api<{ stationId: string | null, mounted: boolean, vehicleId: string }>('PUT', '/api/readers/van-reader/vehicle', { vehicleId: 'V2', mounted: true })
    expect(mounted.body).toMatchObject({ stationId: null, mounted: true, vehicleId: 'V2' })
    expect((await server.api('POST', '/api/parcels', { trackingNumber: 'TS-INVAN', epc: 'E28011606000020400009999', destination: { city: 'Bangkok', country: 'TH' } })).status).toBe(201)
    const van = await connectDevice(server.mqttUrl, 'van-2', tracker.secret)
    const inVan = await connectDevice(server.mqttUrl, 'van-reader', reader.secret)
    try {
      now += 1000
      await publish(van, deviceTopic('van-2', 'fix'), JSON.stringify({ time: now, lat: 13.71, lon: 100.61 }))
      now += 1000
      await publish(inVan, deviceTopic('van-reader', 'scan'), JSON.stringify([0, 200, 400].map((ms) => ({ epc: 'E28011606000020400009999', antenna: 1, time: now + ms }))))
      const timeline = (await server.api<{ items: Array<{ code: string, vehicleId: string | null, lat: number | null }> }>('GET', '/api/parcels/TS-INVAN/timeline')).body.items
      expect(timeline.map((m) => [m.code, m.vehicleId, m.lat])).toEqual([['info_received', null, null], ['loaded', 'V2', 13.71]])
      expect((await server.api<{ aboard: { vehicleId: string } | null }>('GET', '/api/parcels/TS-INVAN')).body.aboard).toEqual({ vehicleId: 'V2', via: [] })
    } finally {
      await van.endAsync()
      await inVan.endAsync()
    }
  })
})
