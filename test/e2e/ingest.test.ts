import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeFixBatch, encodeScanBatch } from '../../proto/codec.js'
import { deviceTopic } from '../../proto/topics.js'
import { connectDevice, eventually, FrameCollector, publish } from '../support/clients.js'
import { startTestServer, TEST_API_KEY, type TestServer } from '../support/server.js'

interface Frame { type: string, positions?: Array<{ deviceId: string, vehicleId: string | null, lat: number, lon: number }>, milestones?: Array<{ code: string, label: string, location: { city: string } | null }> }

describe('telemetry in over MQTT, milestones in PostgreSQL, live out over WebSocket', () => {
  let server: TestServer
  let van: MqttClient
  let reader: MqttClient
  let parcel: { id: string, trackingUrl: string, epc: string }
  let ops: FrameCollector<Frame>
  let buyer: FrameCollector<Frame>
  const EPC = '3034257BF7194E4000001A85'

  beforeAll(async () => {
    server = await startTestServer()
    const tracker = await server.registerDevice('van-1')
    const dock = await server.registerDevice('dock-1', 'reader')
    expect((await server.api('POST', '/api/vehicles', { id: 'V1', name: 'Van 1', plate: 'BKK-1234', deviceId: 'van-1' })).status).toBe(201)
    expect((await server.api('POST', '/api/stations', {
      id: 'BKK-SORT', name: 'Bangkok sort centre', kind: 'sort_centre', lat: 13.69, lon: 100.75, city: 'Bangkok', country: 'TH', timezone: 'Asia/Bangkok'
    })).status).toBe(201)
    expect((await server.api('PUT', '/api/readers/dock-1', { stationId: 'BKK-SORT', milestone: 'arrived_at_facility' })).status).toBe(200)
    const created = await server.api<typeof parcel>('POST', '/api/parcels', {
      trackingNumber: 'TS0001TH', epc: EPC.toLowerCase(), destination: { city: 'Chiang Mai', country: 'TH', address: '1 Nimman Rd' }
    })
    expect(created.status).toBe(201)
    parcel = created.body
    ops = await FrameCollector.open<Frame>(`${server.wsUrl}/ws/live`, { authorization: `Bearer ${TEST_API_KEY}` })
    const token = new URL(parcel.trackingUrl).pathname.split('/').pop() ?? ''
    buyer = await FrameCollector.open<Frame>(`${server.wsUrl}/ws/track/${token}`)
    van = await connectDevice(server.mqttUrl, 'van-1', tracker.secret)
    reader = await connectDevice(server.mqttUrl, 'dock-1', dock.secret)
  })

  afterAll(async () => {
    ops?.close()
    buyer?.close()
    await van?.endAsync()
    await reader?.endAsync()
    await server?.close()
  })

  it('stores a JSON fix before acknowledging it, and pushes it to ops viewers', async () => {
    const time = Date.now() - 1000
    await publish(van, deviceTopic('van-1', 'fix'), JSON.stringify({ time: new Date(time).toISOString(), lat: 13.7563, lon: 100.5018, speed: 8.5, heading: 90, seq: 1 }))
    // the PUBACK has arrived, so the row must already be committed
    const { rows } = await server.db.pool.query('SELECT device_id, vehicle_id, lat, lon, speed, seq, time FROM positions')
    expect(rows).toEqual([{ device_id: 'van-1', vehicle_id: 'V1', lat: 13.7563, lon: 100.5018, speed: 8.5, seq: '1', time: new Date(time) }])
    const frame = await ops.waitFor((f) => f.type === 'positions')
    expect(frame.positions).toEqual([expect.objectContaining({ deviceId: 'van-1', vehicleId: 'V1', lat: 13.7563, lon: 100.5018 })])
  })

  it('stores a protobuf batch, and coalesces it into one frame with the newest position', async () => {
    const t0 = Date.now() - 900
    const fixes = [0, 1, 2].map((i) => ({ time: t0 + i * 100, lat: 13.76 + i * 0.001, lon: 100.51, speed: 9, seq: 2 + i }))
    const framesBefore = ops.frames.length
    await publish(van, deviceTopic('van-1', 'fix'), encodeFixBatch(fixes))
    const { rows } = await server.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM positions')
    expect(rows[0]?.n).toBe(4)
    const frame = await ops.waitFor((f) => f.type === 'positions' && f.positions?.[0]?.lat === 13.762)
    expect(frame.positions).toHaveLength(1)
    expect(ops.frames.slice(framesBefore).filter((f) => f.type === 'positions')).toHaveLength(1)
    // device_latest is saved every two seconds, off the hot transaction
    await eventually(async () => {
      const latest = await server.db.pool.query('SELECT lat FROM device_latest WHERE device_id = $1', ['van-1'])
      expect(latest.rows[0]?.lat).toBe(13.762)
    })
  })

  it('records the reader\'s milestone on the parcel from an RFID scan, once, and pushes it to the buyer', async () => {
    // after the parcel was registered, so arrived_at_facility follows info_received
    const t = Date.now()
    await publish(reader, deviceTopic('dock-1', 'scan'), JSON.stringify([
      { antenna: 1, epc: EPC, rssi: -52.5, time: t },
      { antenna: 2, epc: EPC, rssi: -60, time: t + 100 }
    ]))
    await publish(reader, deviceTopic('dock-1', 'scan'), encodeScanBatch([{ antenna: 1, epc: EPC, rssi: -51, time: t + 200 }]))
    const reads = await server.db.pool.query('SELECT reader_id, epc, station_id, parcel_id FROM rfid_reads ORDER BY time')
    expect(reads.rows).toHaveLength(3)
    expect(reads.rows[0]).toEqual({ reader_id: 'dock-1', epc: EPC, station_id: 'BKK-SORT', parcel_id: parcel.id })

    const timeline = await server.api<{ items: Array<{ code: string, time: string, station: { id: string } | null }> }>('GET', `/api/parcels/${parcel.id}/timeline`)
    expect(timeline.body.items.map((m) => m.code)).toEqual(['info_received', 'arrived_at_facility'])
    expect(timeline.body.items[1]).toMatchObject({ time: new Date(t).toISOString(), station: { id: 'BKK-SORT' } })
    const status = await server.db.pool.query('SELECT status FROM parcels WHERE id = $1', [parcel.id])
    expect(status.rows[0]?.status).toBe('arrived_at_facility')

    const frame = await buyer.waitFor((f) => f.type === 'milestones')
    expect(frame.milestones).toEqual([expect.objectContaining({ code: 'arrived_at_facility', label: 'Arrived at facility', location: expect.objectContaining({ city: 'Bangkok' }) })])
    expect(buyer.frames.filter((f) => f.type === 'milestones')).toHaveLength(1)
  })

  it('shows the buyer only what a customer may see', async () => {
    const token = new URL(parcel.trackingUrl).pathname.split('/').pop() ?? ''
    const response = await fetch(`${server.httpUrl}/api/track/${token}`)
    const body = await response.json() as Record<string, unknown>
    expect(response.status).toBe(200)
    const text = JSON.stringify(body)
    for (const secret of [EPC, parcel.id, 'dock-1', 'BKK-SORT', 'Nimman', '13.69']) expect(text).not.toContain(secret)
    expect(body).toMatchObject({ trackingNumber: 'TS0001TH', status: { code: 'arrived_at_facility' }, destination: { city: 'Chiang Mai', country: 'TH' } })
  })

  it('shows the buyer a new milestone at once, even after serving the page before', async () => {
    const token = new URL(parcel.trackingUrl).pathname.split('/').pop() ?? ''
    const read = async (): Promise<{ status: { code: string } }> => await (await fetch(`${server.httpUrl}/api/track/${token}`)).json() as { status: { code: string } }
    expect((await read()).status.code).toBe('arrived_at_facility')
    expect((await server.api('POST', `/api/parcels/${parcel.id}/milestones`, { code: 'departed_facility', stationId: 'BKK-SORT' })).status).toBe(201)
    expect((await read()).status.code).toBe('departed_facility')
  })

  it('stores a redelivered fix once', async () => {
    const fix = JSON.stringify({ time: Date.now() - 300, lat: 13.8, lon: 100.6, seq: 10 })
    await publish(van, deviceTopic('van-1', 'fix'), fix)
    await publish(van, deviceTopic('van-1', 'fix'), fix)
    const { rows } = await server.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM positions WHERE seq = 10')
    expect(rows[0]?.n).toBe(1)
    const device = await server.api<{ status: { duplicates: number, fixes: number } }>('GET', '/api/devices/van-1')
    expect(device.body.status).toMatchObject({ duplicates: 1, fixes: 5 })
  })

  it('keeps late fixes as history without moving the live position back', async () => {
    await publish(van, deviceTopic('van-1', 'fix'), JSON.stringify({ time: Date.now() - 60_000, lat: 14.0, lon: 100.0, seq: 11 }))
    await new Promise((resolve) => setTimeout(resolve, 2500))
    const { rows } = await server.db.pool.query('SELECT lat FROM device_latest WHERE device_id = $1', ['van-1'])
    expect(rows[0]?.lat).toBe(13.8)
    await eventually(async () => {
      const stored = await server.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM positions WHERE seq = 11')
      expect(stored.rows[0]?.n).toBe(1)
    })
  })
})
