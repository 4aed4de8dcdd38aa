import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceTopic } from '../../proto/topics.js'
import { connectDevice, publish } from '../support/clients.js'
import { startTestServer, type TestServer } from '../support/server.js'

interface Entry { code: string, time: string, source: string, vehicleId: string | null, station: { id: string } | null }

const ENV = { GEOFENCE_DWELL_MS: '2000', GEOFENCE_HYSTERESIS_M: '30' }
// 0.001° of latitude is about 111 m
const DEPOT = { lat: 13.70, lon: 100.60 } // circle, 200 m: inside below 200 m, outside beyond 230 m
const HUB = { lat: 13.80, lon: 100.70 } // circle, 300 m
const CUSTOMS_RING = [[100.79, 13.89], [100.81, 13.89], [100.81, 13.91], [100.79, 13.91], [100.79, 13.89]]

describe('geofences: a van crossing fences gives the parcels aboard their milestones', () => {
  let server: TestServer
  let van: MqttClient
  let secret: string
  let parcelId: string
  let clock = 0
  const fixTimes: number[] = []

  /** A fix one second after the previous one, at a latitude on the van's road. */
  const drive = async (lat: number, lon = lat < 13.75 ? DEPOT.lon : lat < 13.85 ? HUB.lon : 100.80): Promise<number> => {
    clock += 1000
    fixTimes.push(clock)
    await publish(van, deviceTopic('van-1', 'fix'), JSON.stringify({ time: clock, lat, lon }))
    return clock
  }
  const timeline = async (): Promise<Entry[]> => (await server.api<{ items: Entry[] }>('GET', `/api/parcels/${parcelId}/timeline`)).body.items
  const codes = async (): Promise<string[]> => (await timeline()).map((e) => e.code)

  beforeAll(async () => {
    server = await startTestServer({ env: ENV })
    secret = (await server.registerDevice('van-1')).secret
    expect((await server.api('POST', '/api/vehicles', { id: 'V1', name: 'Van 1', deviceId: 'van-1' })).status).toBe(201)
    for (const [id, at] of [['DEPOT', DEPOT], ['HUB', HUB]] as const) {
      expect((await server.api('POST', '/api/stations', { id, name: id, kind: 'depot', ...at, city: 'Bangkok', country: 'TH' })).status).toBe(201)
    }
    const fences = [
      { id: 'F-DEPOT', name: 'Depot yard', kind: 'station', stationId: 'DEPOT', shape: { type: 'circle', ...DEPOT, radiusM: 200 } },
      { id: 'F-HUB', name: 'Hub yard', kind: 'station', stationId: 'HUB', shape: { type: 'circle', ...HUB, radiusM: 300 } },
      { id: 'F-CUSTOMS', name: 'Customs bonded zone', kind: 'customs', shape: { type: 'polygon', ring: CUSTOMS_RING } }
    ]
    for (const fence of fences) expect((await server.api('POST', '/api/geofences', fence)).status).toBe(201)
    const parcel = await server.api<{ id: string }>('POST', '/api/parcels', { trackingNumber: 'TS-GEO', destination: { city: 'Bangkok', country: 'TH' } })
    parcelId = parcel.body.id
    clock = Date.now()
    const loaded = await server.api<{ loaded: number }>('POST', '/api/custody', { items: [{ parcel: 'TS-GEO' }], into: { vehicle: 'V1' }, time: new Date(clock).toISOString() })
    expect(loaded.body.loaded).toBe(1)
    van = await connectDevice(server.mqttUrl, 'van-1', secret)
  })

  afterAll(async () => {
    await van?.endAsync()
    await server?.close()
  })

  it('lists the fences with the milestones their kind means', async () => {
    const { body } = await server.api<{ items: Array<{ id: string, onEnter: string | null, onExit: string | null }> }>('GET', '/api/geofences')
    expect(body.items.map((f) => [f.id, f.onEnter, f.onExit])).toEqual([
      ['F-CUSTOMS', 'customs_entered', 'customs_cleared'],
      ['F-DEPOT', 'arrived_at_facility', 'departed_facility'],
      ['F-HUB', 'arrived_at_facility', 'departed_facility']
    ])
  })

  it('does not make a van first seen in the depot arrive, and dates its departure to the first fix outside', async () => {
    await drive(13.7005) // 55 m from the depot's centre: the first fix sets membership silently
    await drive(13.7019) // 211 m: the band proves nothing
    const firstOutside = await drive(13.7030) // 333 m: outside, pending
    await drive(13.7019) // back in the band: still pending
    expect(await codes()).toEqual(['info_received', 'loaded'])
    await drive(13.7035) // outside for 2 s: confirmed
    const entries = await timeline()
    expect(entries.map((e) => e.code)).toEqual(['info_received', 'loaded', 'departed_facility'])
    expect(entries[2]).toMatchObject({ time: new Date(firstOutside).toISOString(), source: 'geofence', vehicleId: 'V1', station: { id: 'DEPOT' } })
  })

  it('does not flap while GPS jitters at the hub\'s edge, then arrives once the van stays in', async () => {
    for (const lat of [13.8035, 13.8020, 13.8035, 13.8020, 13.8029, 13.8035]) await drive(lat)
    expect(await codes()).toEqual(['info_received', 'loaded', 'departed_facility'])
    const firstInside = await drive(13.8020)
    await drive(13.8015)
    await drive(13.8010)
    const entries = await timeline()
    expect(entries.map((e) => e.code)).toEqual(['info_received', 'loaded', 'departed_facility', 'arrived_at_facility'])
    expect(entries[3]).toMatchObject({ time: new Date(firstInside).toISOString(), station: { id: 'HUB' } })
  })

  it('ignores a late fix that would have put the van back in the depot', async () => {
    const late = (fixTimes[2] ?? 0) + 500
    await publish(van, deviceTopic('van-1', 'fix'), JSON.stringify({ time: late, lat: 13.7005, lon: DEPOT.lon }))
    await drive(13.8010)
    expect(await codes()).toEqual(['info_received', 'loaded', 'departed_facility', 'arrived_at_facility'])
  })

  it('gives customs milestones in a polygon, records the crossings as device events, and keeps its place across a restart', async () => {
    for (const lat of [13.85, 13.85, 13.85, 13.90, 13.901, 13.902]) await drive(lat)
    expect(await codes()).toEqual(['info_received', 'loaded', 'departed_facility', 'arrived_at_facility', 'departed_facility', 'customs_entered'])

    await van.endAsync()
    await server.app.close()
    server = await startTestServer({ db: server.db, env: ENV })
    van = await connectDevice(server.mqttUrl, 'van-1', secret)
    await drive(13.903) // still inside after the restart: no second entry
    expect((await codes()).at(-1)).toBe('customs_entered')
    for (const lat of [13.95, 13.95, 13.95]) await drive(lat)
    expect((await codes()).slice(-2)).toEqual(['customs_entered', 'customs_cleared'])

    const events = await server.api<{ items: Array<{ type: string, detail: { fence?: string } }> }>('GET', '/api/devices/van-1/events')
    expect(events.body.items.map((e) => `${e.type}:${e.detail.fence}`).sort()).toEqual([
      'geofence_enter:F-CUSTOMS', 'geofence_enter:F-HUB', 'geofence_leave:F-CUSTOMS', 'geofence_leave:F-DEPOT', 'geofence_leave:F-HUB'
    ])
  })

  it('refuses a fence that makes no sense', async () => {
    const tooSmall = await server.api<{ statusCode: number }>('POST', '/api/geofences', { id: 'F-X', name: 'x', kind: 'other', shape: { type: 'circle', lat: 13, lon: 100, radiusM: 1 } })
    expect(tooSmall.status).toBe(400)
    const noStation = await server.api<{ code: string }>('POST', '/api/geofences', { id: 'F-Y', name: 'y', kind: 'station', stationId: 'NOPE', shape: { type: 'circle', lat: 13, lon: 100, radiusM: 100 } })
    expect(noStation.body.code).toBe('TS_UNKNOWN_REFERENCE')
    expect((await server.api('DELETE', '/api/geofences/F-HUB')).status).toBe(204)
    expect((await server.api('DELETE', '/api/geofences/F-HUB')).status).toBe(404)
  })
})
