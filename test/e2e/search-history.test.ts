import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceTopic } from '../../proto/topics.js'
import { selectVehicleTrack } from '../../server/db/queries/vehicle-history.js'
import { pgSql } from '../../server/db/sql.js'
import { MAX_HISTORY_POINTS } from '../../server/routes/history.js'
import { connectDevice, eventually, publish } from '../support/clients.js'
import { startTestServer, TEST_API_KEY, type TestServer } from '../support/server.js'

interface Hit { kind: string, id: string, label: string, detail: string, position: { lat: number, lon: number } | null }
interface Point { time: string, lat: number, lon: number, speed: number | null, heading: number | null }
interface HistoryMilestone { time: string, code: string, label: string, trackingNumber: string, lat: number | null, lon: number | null, stationId: string | null }
interface History { vehicleId: string, from: string, to: string, positions: Point[], milestones: HistoryMilestone[], truncated: boolean }
interface ApiError { statusCode: number, code: string, message: string }

const MIN = 60_000
const HOUR = 60 * MIN
const EPC = '3034257BF7194E4000001A85'
const iso = (ms: number): string => new Date(ms).toISOString()
// six fixes a minute apart, driving north; fix k is at T0 + k minutes
const T0 = Date.now() - 6 * HOUR
const fixAt = (k: number): { time: number, lat: number, lon: number, speed: number, heading: number } =>
  ({ time: T0 + k * MIN, lat: 13.7 + k * 0.01, lon: 100.5, speed: 8 + k, heading: 0 })

describe('ops search and vehicle history', () => {
  let server: TestServer
  let van: MqttClient
  let otherVan: MqttClient
  let now = T0 - HOUR

  const searchFor = async (q: string, extra = ''): Promise<{ status: number, body: { items: Hit[] } & Partial<ApiError> }> =>
    await server.api('GET', `/api/search?q=${encodeURIComponent(q)}${extra}`)
  const history = async (vehicleId: string, query = ''): Promise<{ status: number, body: History & Partial<ApiError> }> =>
    await server.api('GET', `/api/vehicles/${vehicleId}/history${query}`)
  const fix = async (k: number): Promise<void> => {
    now = fixAt(k).time
    await publish(van, deviceTopic('van-s1', 'fix'), JSON.stringify(fixAt(k)))
    // another tracker at the same moments, a little east: none of it belongs to V-S1's history
    await publish(otherVan, deviceTopic('van-s2', 'fix'), JSON.stringify({ ...fixAt(k), lon: 100.6 }))
  }

  beforeAll(async () => {
    server = await startTestServer({ clock: () => now })
    const tracker = await server.registerDevice('van-s1', 'tracker', { name: 'Teltonika in van S1' })
    const other = await server.registerDevice('van-s2')
    expect((await server.api('POST', '/api/vehicles', { id: 'V-S1', name: 'Van S1', plate: 'BKK-4711', deviceId: 'van-s1' })).status).toBe(201)
    expect((await server.api('POST', '/api/vehicles', { id: 'V-S2', name: 'Van S2', deviceId: 'van-s2' })).status).toBe(201)
    expect((await server.api('POST', '/api/vehicles', { id: 'V-BARE', name: 'Spare van' })).status).toBe(201)
    for (const [trackingNumber, extra] of [['TSS-100', { epc: EPC }], ['TSS-1000', {}], ['TSS-1001', {}], ['TSS-9', {}]] as const) {
      expect((await server.api('POST', '/api/parcels', { trackingNumber, destination: { city: 'Bangkok', country: 'TH' }, ...extra })).status).toBe(201)
    }
    van = await connectDevice(server.mqttUrl, 'van-s1', tracker.secret)
    otherVan = await connectDevice(server.mqttUrl, 'van-s2', other.secret)
    for (const k of [0, 1, 2]) await fix(k)
    now = T0 + 2.5 * MIN
    expect((await server.api('POST', '/api/custody', { items: [{ parcel: 'TSS-100' }], into: { vehicle: 'V-S1' }, time: iso(now) })).status).toBe(200)
    await fix(3)
    now = T0 + 3.5 * MIN
    expect((await server.api('POST', '/api/parcels/TSS-100/milestones', { code: 'out_for_delivery', time: iso(now) })).status).toBe(201)
    for (const k of [4, 5]) await fix(k)
    now = T0 + 5.5 * MIN
    expect((await server.api('POST', '/api/parcels/TSS-100/milestones', { code: 'delivery_attempted', reason: 'recipient_not_available', time: iso(now) })).status).toBe(201)
    now = T0 + 10 * MIN
  })

  afterAll(async () => {
    await van?.endAsync()
    await otherVan?.endAsync()
    await server?.close()
  })

  describe('GET /api/search', () => {
    it('finds a parcel by its tracking number, exact match first and prefix matches after, in numeric order', async () => {
      const { status, body } = await searchFor('tss-100')
      expect(status).toBe(200)
      expect(body.items.map((i) => [i.kind, i.label])).toEqual([['parcel', 'TSS-100'], ['parcel', 'TSS-1000'], ['parcel', 'TSS-1001']])
      expect(body.items[0]?.detail).toContain(EPC)
      expect((await searchFor('TSS-', '&limit=2')).body.items.map((i) => i.label)).toEqual(['TSS-9', 'TSS-100'])
    })

    it('finds a parcel by its EPC in either case, placed where the van carrying it is', async () => {
      const last = fixAt(5)
      for (const q of [EPC, EPC.toLowerCase(), EPC.slice(0, 10).toLowerCase()]) {
        const { body } = await searchFor(q)
        expect(body.items).toEqual([{ kind: 'parcel', id: expect.any(String), label: 'TSS-100', detail: expect.stringContaining(EPC), position: { lat: last.lat, lon: last.lon } }])
      }
      // the same answer as the parcel's own page
      const parcel = await server.api<{ id: string, position: { lat: number, lon: number } }>('GET', '/api/parcels/TSS-100')
      expect((await searchFor(EPC)).body.items[0]).toMatchObject({ id: parcel.body.id, position: { lat: parcel.body.position.lat, lon: parcel.body.position.lon } })
      // a parcel on no vehicle has no position yet
      expect((await searchFor('TSS-9')).body.items).toEqual([expect.objectContaining({ label: 'TSS-9', position: null })])
    })

    it('finds a vehicle by plate, id or name, and a device by id or name, at their latest fix', async () => {
      const last = fixAt(5)
      await eventually(async () => {
        expect((await searchFor('bkk-4711')).body.items).toEqual([
          { kind: 'vehicle', id: 'V-S1', label: 'Van S1 (BKK-4711)', detail: 'vehicle V-S1 · tracker van-s1', position: { lat: last.lat, lon: last.lon } }
        ])
      })
      expect((await searchFor('v-s1')).body.items.map((i) => i.id)).toEqual(['V-S1'])
      expect((await searchFor('Spare')).body.items).toEqual([expect.objectContaining({ kind: 'vehicle', id: 'V-BARE', position: null })])
      expect((await searchFor('VAN-S1')).body.items).toEqual([
        { kind: 'device', id: 'van-s1', label: 'van-s1', detail: 'tracker · Teltonika in van S1', position: { lat: last.lat, lon: last.lon } }
      ])
      expect((await searchFor('teltonika')).body.items.map((i) => i.id)).toEqual(['van-s1'])
      expect((await searchFor('van s')).body.items.map((i) => i.id)).toEqual(['V-S1', 'V-S2'])
      expect((await searchFor('van-s')).body.items.map((i) => `${i.kind}:${i.id}`)).toEqual(['device:van-s1', 'device:van-s2'])
    })

    it('finds nothing for what matches nothing, and only by prefix', async () => {
      expect((await searchFor('nothing-like-it')).body.items).toEqual([])
      expect((await searchFor('SS-100')).body.items).toEqual([])
    })

    it('answers 400 to a missing, empty, blank or too long query and a limit over 50', async () => {
      for (const query of ['', '?q=', '?q=%20%20', `?q=${'a'.repeat(101)}`, '?q=TSS&limit=51', '?q=TSS&limit=0']) {
        const { status, body } = await server.api<ApiError>('GET', `/api/search${query}`)
        expect([query, status, body.code]).toEqual([query, 400, 'FST_ERR_VALIDATION'])
      }
      expect((await searchFor('a'.repeat(100))).status).toBe(200)
    })

    it('answers 401 without the API key', async () => {
      const response = await fetch(`${server.httpUrl}/api/search?q=TSS`)
      expect(response.status).toBe(401)
      expect(await response.json()).toMatchObject({ code: 'TS_UNAUTHORIZED' })
    })
  })

  describe('GET /api/vehicles/{id}/history', () => {
    it('returns the vehicle\'s fixes in the range, in time order, and the milestones recorded with it, placed where it was', async () => {
      const { status, body } = await history('V-S1', `?from=${iso(fixAt(1).time)}&to=${iso(fixAt(4).time)}`)
      expect(status).toBe(200)
      expect(body).toMatchObject({ vehicleId: 'V-S1', from: iso(fixAt(1).time), to: iso(fixAt(4).time), truncated: false })
      expect(body.positions).toEqual([1, 2, 3, 4].map((k) => {
        const { time, lat, lon, speed, heading } = fixAt(k)
        return { time: iso(time), lat, lon, speed, heading }
      }))
      const labels = (await server.api<{ items: Array<{ code: string, label: string }> }>('GET', '/api/milestone-codes')).body.items
      const labelOf = (code: string): string | undefined => labels.find((l) => l.code === code)?.label
      expect(body.milestones).toEqual([
        { time: iso(T0 + 2.5 * MIN), code: 'loaded', label: labelOf('loaded'), trackingNumber: 'TSS-100', lat: fixAt(2).lat, lon: fixAt(2).lon, stationId: null },
        { time: iso(T0 + 3.5 * MIN), code: 'out_for_delivery', label: labelOf('out_for_delivery'), trackingNumber: 'TSS-100', lat: fixAt(3).lat, lon: fixAt(3).lon, stationId: null }
      ])
    })

    it('defaults to the last 24 hours, and a vehicle without a tracker has an empty route', async () => {
      const { body } = await history('V-S1')
      expect(body.positions.map((p) => p.lat)).toEqual([0, 1, 2, 3, 4, 5].map((k) => fixAt(k).lat))
      expect(body.milestones.map((m) => m.code)).toEqual(['loaded', 'out_for_delivery', 'delivery_attempted'])
      expect(Date.parse(body.to) - Date.parse(body.from)).toBe(24 * HOUR)
      expect(Date.parse(body.to)).toBe(now)
      const other = await history('V-S2')
      expect(other.body.positions.map((p) => p.lon)).toEqual(Array(6).fill(100.6))
      expect(other.body.milestones).toEqual([])
      expect((await history('V-BARE')).body).toMatchObject({ positions: [], milestones: [], truncated: false })
    })

    it('samples a long track evenly down to the cap in SQL, keeping the first and the last fix', async () => {
      // four fixes out of six: buckets floor(i·3/5) keep rows 0, 2, 4 and 5
      const sample = await selectVehicleTrack(pgSql(server.db.pool), { deviceId: 'van-s1', from: new Date(T0), to: new Date(T0 + 5 * MIN), maxPoints: 4 })
      expect(sample).toEqual({ total: 6, points: [0, 2, 4, 5].map((k) => expect.objectContaining({ time: new Date(fixAt(k).time), lat: fixAt(k).lat })) })

      // two days earlier (outside the default range of the other tests), a fix every second: more than the route sends
      const start = T0 - 48 * HOUR
      const count = MAX_HISTORY_POINTS + 1234
      await server.db.pool.query(
        `INSERT INTO positions (device_id, time, lat, lon, received_at)
         SELECT 'van-s1', $1::timestamptz + g * interval '1 second', 10 + g * 0.0001, 100, now() FROM generate_series(0, $2::int - 1) g`,
        [new Date(start), count])
      const { body } = await history('V-S1', `?from=${iso(start)}&to=${iso(start + count * 1000)}`)
      expect(body.truncated).toBe(true)
      expect(body.positions).toHaveLength(MAX_HISTORY_POINTS)
      expect(body.positions[0]?.time).toBe(iso(start))
      expect(body.positions.at(-1)?.time).toBe(iso(start + (count - 1) * 1000))
      const gaps = body.positions.slice(1).map((p, i) => Date.parse(p.time) - Date.parse(body.positions[i]?.time ?? ''))
      // even: every gap is one or two seconds, never a hole
      expect(new Set(gaps)).toEqual(new Set([1000, 2000]))
      // the part of the range under the cap is returned whole
      const whole = await history('V-S1', `?from=${iso(start)}&to=${iso(start + 99_000)}`)
      expect(whole.body).toMatchObject({ truncated: false })
      expect(whole.body.positions).toHaveLength(100)
    })

    it('answers 404 for an unknown vehicle, 400 for a range that ends before it starts or spans over 7 days, 401 without the key', async () => {
      const unknown = await history('NOPE')
      expect([unknown.status, unknown.body.code]).toEqual([404, 'TS_NOT_FOUND'])
      const backwards = await history('V-S1', `?from=${iso(T0)}&to=${iso(T0 - 1)}`)
      expect([backwards.status, backwards.body.code, backwards.body.message]).toEqual([422, 'TS_BAD_SHAPE', 'from is after to'])
      const long = await history('V-S1', `?from=${iso(T0 - 7 * 24 * HOUR - 1)}&to=${iso(T0)}`)
      expect([long.status, long.body.code]).toEqual([422, 'TS_BAD_SHAPE'])
      expect((await history('V-S1', `?from=${iso(T0 - 7 * 24 * HOUR)}&to=${iso(T0)}`)).status).toBe(200)
      expect((await history('V-S1', '?from=yesterday')).status).toBe(400)
      const anonymous = await fetch(`${server.httpUrl}/api/vehicles/V-S1/history`)
      expect(anonymous.status).toBe(401)
      const wrongKey = await fetch(`${server.httpUrl}/api/vehicles/V-S1/history`, { headers: { authorization: `Bearer ${TEST_API_KEY}x` } })
      expect(wrongKey.status).toBe(401)
    })
  })
})
