import { readFile } from 'node:fs/promises'
import path from 'node:path'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeNmea } from '../../gateway/decoders/nmea.js'
import { deviceTopic } from '../../proto/topics.js'
import { connectDevice, publish } from '../support/clients.js'
import { ROOT } from '../support/processes.js'
import { startTestServer, type TestServer } from '../support/server.js'

/** Real captures, replayed as devices send them: through the broker or the HTTP routes, into the database. */
const fixture = async (file: string): Promise<Buffer> => await readFile(path.join(ROOT, 'test/fixtures', file))
/** the JSON captures are text: fetch sends them byte for byte */
const bytes = (buffer: Buffer): string => buffer.toString('utf8')

const basic = (id: string, secret: string): string => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`

interface PositionRow { time: Date, lat: number, lon: number, speed: number | null, heading: number | null, accuracy: number | null, altitude: number | null, battery: number | null }

async function positionsOf (server: TestServer, deviceId: string): Promise<PositionRow[]> {
  const { rows } = await server.db.pool.query<PositionRow>(
    'SELECT time, lat, lon, speed, heading, accuracy, altitude, battery FROM positions WHERE device_id = $1 ORDER BY time', [deviceId])
  return rows
}

describe('OwnTracks, over MQTT and in HTTP mode', () => {
  let server: TestServer
  let phone: MqttClient
  let secret: string

  beforeAll(async () => {
    // the captures are from 2017 to 2023: judge them by a clock of their time
    server = await startTestServer({ clock: () => Date.UTC(2023, 11, 1), env: { RETENTION_DAYS: '0' } })
    secret = (await server.registerDevice('jj', 'tracker', { format: 'owntracks' })).secret
    phone = await connectDevice(server.mqttUrl, 'jj', secret)
  })
  afterAll(async () => {
    await phone?.endAsync()
    await server?.close()
  })

  it('stores a location published on owntracks/<user>/<device>, in trackstream units', async () => {
    await publish(phone, 'owntracks/jj/iphone', await fixture('owntracks/traccar/traccar-test-location-ios-moving.json'))
    expect(await positionsOf(server, 'jj')).toEqual([{
      time: new Date(1497349316000), lat: 48.85833, lon: 2.29513, speed: expect.closeTo(61 / 3.6, 3), heading: 271, accuracy: 5, altitude: 167, battery: 67
    }])
  })

  // an lwt's tst is when the app connected; it goes offline when the broker publishes the will
  it('keeps region transitions and the last will as device events', async () => {
    await publish(phone, 'owntracks/jj/iphone/event', await fixture('owntracks/json-schema-tests/transition.json'))
    await publish(phone, 'owntracks/jj/iphone', await fixture('owntracks/json-schema-tests/lwt.json'))
    const { rows } = await server.db.pool.query<{ type: string, time: Date, detail: Record<string, unknown> }>(
      "SELECT type, time, detail FROM device_events WHERE device_id = 'jj' ORDER BY time")
    expect(rows.map((r) => [r.type, r.time.getTime(), r.detail.region ?? null])).toEqual([
      ['geofence_enter', 1701264368000, 'blukii'],
      ['offline', Date.UTC(2023, 11, 1), null]
    ])
  })

  it('takes HTTP mode posts with the device\'s credentials, and refuses wrong ones', async () => {
    const body = await fixture('owntracks/traccar/traccar-test-location-android.json')
    const post = async (authorization: string): Promise<Response> => await fetch(`${server.httpUrl}/owntracks`, {
      method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: bytes(body)
    })
    const refused = await post(basic('jj', 'wrong'))
    expect([refused.status, refused.headers.get('www-authenticate')]).toEqual([401, 'Basic realm="trackstream"'])
    const accepted = await post(basic('jj', secret))
    expect([accepted.status, await accepted.json()]).toEqual([200, []])
    expect(await positionsOf(server, 'jj')).toHaveLength(2)
  })

  it('may publish only in its own OwnTracks tree', async () => {
    const intruder = await connectDevice(server.mqttUrl, 'jj', secret)
    const gone = new Promise<void>((resolve) => { intruder.once('close', () => { resolve() }) })
    intruder.publish('owntracks/someone-else/phone', await fixture('owntracks/traccar/traccar-test-location-minimal.json'), { qos: 1 })
    await gone
    intruder.end(true)
  })
})

describe('Traccar Client / OsmAnd over HTTP', () => {
  let server: TestServer

  beforeAll(async () => {
    server = await startTestServer({ clock: () => Date.UTC(2022, 0, 1), env: { RETENTION_DAYS: '0' } })
    await server.registerDevice('123456789012345', 'tracker', { format: 'osmand' })
    await server.registerDevice('8737767034', 'tracker', { format: 'osmand' })
  })
  afterAll(async () => { await server?.close() })

  it('takes the query form, with speed in knots', async () => {
    const query = (await fixture('osmand/query-extra-attributes.txt')).toString().trim()
    const response = await fetch(`${server.httpUrl}/osmand${query.slice(query.indexOf('?'))}`)
    expect([response.status, await response.json()]).toEqual([200, { accepted: { fixes: 1, scans: 0, events: 0 }, rejects: [] }])
    expect(await positionsOf(server, '123456789012345')).toEqual([expect.objectContaining({
      time: new Date(1504763810000), lat: 40.7232948571, lon: -74.0061408571, speed: expect.closeTo(40 * 1852 / 3600, 3), heading: expect.closeTo(7.19889788244, 4)
    })])
  })

  it('takes the JSON form, with speed in m/s and battery as a fraction', async () => {
    const response = await fetch(`${server.httpUrl}/osmand`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: bytes(await fixture('osmand/json-speed-while-still.json'))
    })
    expect(response.status).toBe(200)
    expect(await positionsOf(server, '8737767034')).toEqual([{
      time: new Date('2021-07-21T08:06:34.444Z'), lat: -6.1148096, lon: 106.6837015, speed: expect.closeTo(18.67, 4), heading: 63, accuracy: expect.closeTo(3.8, 4), altitude: expect.closeTo(35.7, 4), battery: 79
    }])
  })

  it('refuses an id nobody registered, and lists it for the operator', async () => {
    const response = await fetch(`${server.httpUrl}/osmand?id=999&lat=1&lon=2&timestamp=1600000000`)
    expect(response.status).toBe(401)
    const unknown = await server.api<{ items: Array<{ deviceId: string }> }>('GET', '/api/devices/unknown')
    expect(unknown.body.items.map((u) => u.deviceId)).toEqual(['999'])
    const missing = await fetch(`${server.httpUrl}/osmand?${(await fixture('osmand/query-missing-id.txt')).toString().trim().split('?')[1] ?? ''}`)
    expect(missing.status).toBe(401)
  })
})

describe('NMEA 0183 over MQTT', () => {
  let server: TestServer

  beforeAll(async () => {
    // gpsd's BU-353 GLONASS capture is from 2014-05-26
    server = await startTestServer({ clock: () => Date.UTC(2014, 4, 27), env: { RETENTION_DAYS: '0' } })
  })
  afterAll(async () => { await server?.close() })

  it('stores every fix of a real receiver log, merged from its RMC and GGA sentences', async () => {
    const { secret } = await server.registerDevice('bu353', 'tracker', { format: 'nmea' })
    const device = await connectDevice(server.mqttUrl, 'bu353', secret)
    const sentences = (await fixture('nmea/bu353-glonass.log')).toString().split('\n').filter((line) => line.startsWith('$'))
    const payload = Buffer.from(sentences.join('\r\n'))
    const expected = decodeNmea(payload, { deviceId: 'bu353', topic: null, receivedAt: Date.UTC(2014, 4, 27) })
    expect(expected.fixes.length).toBe(9)
    await publish(device, deviceTopic('bu353', 'fix'), payload)
    await device.endAsync()
    const stored = await positionsOf(server, 'bu353')
    expect(stored.map((p) => [p.time.getTime(), p.lat, p.lon])).toEqual(expected.fixes.map((f) => [f.time, f.lat, f.lon]))
  })
})
