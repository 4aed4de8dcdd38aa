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
    const events = await server.api<{ items: Array<{ type: string, time: string, detail: Record<string, unknown> }> }>('GET', '/api/devices/jj/events')
    expect(events.body.items.map((e) => [e.type, Date.parse(e.time), e.detail.region ?? null])).toEqual([
      ['offline', Date.UTC(2023, 11, 1), null],
      ['geofence_enter', 1701264368000, 'blukii']
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

describe('RFID readers: Impinj over MQTT, Zebra over HTTP, parcels matched by their SSCC', () => {
  let server: TestServer
  let parcelId: string
  const SSCC_EPC = '3154257BF4499602D2000000'

  beforeAll(async () => {
    server = await startTestServer({ clock: () => Date.UTC(2024, 11, 1), env: { RETENTION_DAYS: '0' } })
    await server.api('POST', '/api/stations', { id: 'DOCK-A', name: 'Dock A', kind: 'depot', lat: 52.37, lon: 4.9, city: 'Amsterdam', country: 'NL' })
    // the SSCC printed on the label; GS1's own test vectors give the tag that encodes it (epcpy, MIT)
    const parcel = await server.api<{ id: string, gs1Key: string }>('POST', '/api/parcels', {
      trackingNumber: 'SSCC-1', sscc: '106141412345678908', destination: { city: 'Utrecht', country: 'NL' }
    })
    expect(parcel.body.gs1Key).toBe('sscc:106141412345678908')
    parcelId = parcel.body.id
  })
  afterAll(async () => { await server?.close() })

  it('reads an Impinj tag inventory event and records the reader\'s milestone on the parcel the tag encodes', async () => {
    const { secret } = await server.registerDevice('impinj-1', 'reader', { format: 'impinj' })
    await server.api('PUT', '/api/readers/impinj-1', { stationId: 'DOCK-A', milestone: 'loaded' })
    const reader = await connectDevice(server.mqttUrl, 'impinj-1', secret)
    await publish(reader, deviceTopic('impinj-1', 'scan'), await fixture('impinj/constructed-mqtt-tag-inventory-base64-epc.json'))
    await reader.endAsync()
    const { rows } = await server.db.pool.query('SELECT epc, antenna, rssi, gs1_key, parcel_id, station_id FROM rfid_reads')
    expect(rows).toEqual([{ epc: SSCC_EPC, antenna: 2, rssi: -61.5, gs1_key: 'sscc:106141412345678908', parcel_id: parcelId, station_id: 'DOCK-A' }])
    const timeline = await server.api<{ items: Array<{ code: string }> }>('GET', `/api/parcels/${parcelId}/timeline`)
    expect(timeline.body.items.map((m) => m.code)).toEqual(['loaded', 'info_received'])
  })

  it('takes a Zebra HTTP batch, keeping a chip-serialised EPC as plain hex', async () => {
    const { secret } = await server.registerDevice('zebra-1', 'reader', { format: 'zebra' })
    const response = await fetch(`${server.httpUrl}/api/ingest/scan`, {
      method: 'POST',
      headers: { authorization: basic('zebra-1', secret), 'content-type': 'application/json' },
      body: bytes(await fixture('zebra/constructed-http-post-batch.json'))
    })
    expect([response.status, await response.json()]).toEqual([200, { accepted: { fixes: 0, scans: 2, events: 0 }, rejects: [] }])
    const { rows } = await server.db.pool.query("SELECT epc, antenna, rssi, gs1_key, time FROM rfid_reads WHERE reader_id = 'zebra-1' ORDER BY time")
    expect(rows).toEqual([
      { epc: SSCC_EPC, antenna: 1, rssi: -61, gs1_key: 'sscc:106141412345678908', time: new Date('2023-02-24T10:14:42.851Z') },
      { epc: 'E28011700000020D2A412182', antenna: 4, rssi: -70, gs1_key: null, time: new Date('2023-02-24T10:14:43.002Z') }
    ])
  })
})

describe('LoRaWAN network servers report for their owner\'s trackers only', () => {
  let server: TestServer
  const TRACKER = '70b3d57ed0051a2b'

  beforeAll(async () => {
    server = await startTestServer({ clock: () => Date.UTC(2024, 6, 1), env: { RETENTION_DAYS: '0' } })
    await server.registerDevice(TRACKER, 'tracker', { owner: 'acme' })
  })
  afterAll(async () => { await server?.close() })

  it('stores the device\'s own decoded position from a TTS uplink, never the gateway\'s', async () => {
    const { secret } = await server.registerDevice('tts-acme', 'network_server', { format: 'ttn', owner: 'acme', scope: 'trackstream-fleet@ttn' })
    const tts = await connectDevice(server.mqttUrl, 'tts-acme', secret)
    await publish(tts, 'v3/trackstream-fleet@ttn/devices/parcel-tracker-07/up', await fixture('ttn/constructed-uplink-gps-tracker.json'))
    await publish(tts, 'v3/trackstream-fleet@ttn/devices/eui-ac1f09fffe00357f/up', await fixture('ttn/ttnmapper-rak7200-no-gps-gateway-location.json'))
    expect(await positionsOf(server, TRACKER)).toEqual([expect.objectContaining({ time: new Date('2024-05-14T09:59:58Z'), lat: 52.371285, lon: 4.898912, battery: 87 })])
    const ns = (await server.api<{ status: { rejects: Record<string, number> } }>('GET', '/api/devices/tts-acme')).body.status
    expect(ns.rejects).toEqual({ no_position: 1 })
    const tracker = (await server.api<{ status: { lastSeenAt: string | null, fixes: number } }>('GET', `/api/devices/${TRACKER}`)).body.status
    expect(tracker).toMatchObject({ fixes: 1, lastSeenAt: new Date(Date.UTC(2024, 6, 1)).toISOString() })
    // its own application's tree only
    const gone = new Promise<void>((resolve) => { tts.once('close', () => { resolve() }) })
    tts.publish('v3/someone-else@ttn/devices/x/up', '{}', { qos: 1 })
    await gone
    tts.end(true)
  })

  it('refuses a position another tenant\'s network server reports for this tracker', async () => {
    const { secret } = await server.registerDevice('tts-globex', 'network_server', { format: 'ttn', owner: 'globex', scope: 'globex-app@ttn' })
    const tts = await connectDevice(server.mqttUrl, 'tts-globex', secret)
    await publish(tts, 'v3/globex-app@ttn/devices/parcel-tracker-07/up', await fixture('ttn/constructed-uplink-gps-tracker.json'))
    await tts.endAsync()
    expect(await positionsOf(server, TRACKER)).toHaveLength(1)
    const ns = (await server.api<{ status: { rejects: Record<string, number> } }>('GET', '/api/devices/tts-globex')).body.status
    expect(ns.rejects).toEqual({ unknown_device: 1 })
  })

  it('takes a ChirpStack v4 up event through the HTTP integration', async () => {
    await server.registerDevice('a84041000181c8d2', 'tracker', { owner: 'acme' })
    const { secret } = await server.registerDevice('cs-acme', 'network_server', { format: 'chirpstack', owner: 'acme', scope: '8a1d2f40-3b6e-4c57-9d18-6f2a0b3c4d5e' })
    const response = await fetch(`${server.httpUrl}/integrations/chirpstack?event=up`, {
      method: 'POST',
      headers: { authorization: basic('cs-acme', secret), 'content-type': 'application/json' },
      body: bytes(await fixture('chirpstack/constructed-v4-up-gps.json'))
    })
    expect([response.status, await response.json()]).toEqual([200, { accepted: { fixes: 1, scans: 0, events: 0 }, rejects: [] }])
    expect(await positionsOf(server, 'a84041000181c8d2')).toEqual([expect.objectContaining({ lat: 48.85837, lon: 2.294481, battery: 76 })])
  })
})
