import fc from 'fast-check'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DeviceFormat } from '../../gateway/decoders/format.js'
import { REJECT_REASONS } from '../../gateway/rejects.js'
import type { Channel } from '../../proto/topics.js'
import { connectDevice } from '../support/clients.js'
import { nastyNumber, nastyString, payloadFor } from '../support/fuzz.js'
import { startTestServer, type TestServer } from '../support/server.js'

const RUNS = Number(process.env.FUZZ_RUNS ?? 60)
/** Words of PostgreSQL's own error messages, which no answer may carry. */
const DATABASE_WORDS = /violates|syntax|invalid input|invalid byte sequence|out of range for type|relation "|column "|unsupported Unicode|numeric field overflow/i

interface Target { id: string, format: DeviceFormat, kind: 'tracker' | 'reader' | 'network_server', channel: Channel, topic: string, scope?: string }

const TARGETS: Target[] = [
  { id: 'fz-ts', format: 'trackstream', kind: 'tracker', channel: 'fix', topic: 'ts/v1/fz-ts/fix' },
  { id: 'fz-ts-reader', format: 'trackstream', kind: 'reader', channel: 'scan', topic: 'ts/v1/fz-ts-reader/scan' },
  { id: 'fz-driver', format: 'trackstream', kind: 'tracker', channel: 'driver', topic: 'ts/v1/fz-driver/driver' },
  { id: 'fz-owntracks', format: 'owntracks', kind: 'tracker', channel: 'fix', topic: 'owntracks/fz-owntracks/phone' },
  { id: 'fz-osmand', format: 'osmand', kind: 'tracker', channel: 'fix', topic: 'ts/v1/fz-osmand/fix' },
  { id: 'fz-nmea', format: 'nmea', kind: 'tracker', channel: 'fix', topic: 'ts/v1/fz-nmea/fix' },
  { id: 'fz-impinj', format: 'impinj', kind: 'reader', channel: 'scan', topic: 'ts/v1/fz-impinj/scan' },
  { id: 'fz-zebra', format: 'zebra', kind: 'reader', channel: 'scan', topic: 'ts/v1/fz-zebra/scan' },
  { id: 'fz-ttn', format: 'ttn', kind: 'network_server', channel: 'fix', topic: 'v3/fuzz-app@ttn/devices/eui-1/up', scope: 'fuzz-app@ttn' },
  { id: 'fz-chirp', format: 'chirpstack', kind: 'network_server', channel: 'fix', topic: 'application/fuzz-app/device/0004a30b001c0530/event/up', scope: 'fuzz-app' }
]

interface Device { status: { rejects: Record<string, number> } }

/**
 * Property tests against the running server: whatever devices and API clients send, over MQTT
 * and HTTP, every message is answered (never a dropped connection, never a 5xx), nothing stored
 * lies outside what its column and the validation allow, nothing was refused by PostgreSQL
 * itself (all of it was refused earlier, with a reason), and every refusal is counted.
 */
describe('fuzzed ingest and API bodies against the running server', () => {
  let server: TestServer
  const clients = new Map<string, MqttClient>()
  const secrets = new Map<string, string>()

  beforeAll(async () => {
    server = await startTestServer({ env: { RETENTION_DAYS: '0', MAX_MESSAGE_BYTES: '65536' } })
    for (const target of TARGETS) {
      const extra: Record<string, string> = { format: target.format, ...(target.scope === undefined ? {} : { scope: target.scope }) }
      const { secret } = await server.registerDevice(target.id, target.kind, extra)
      secrets.set(target.id, secret)
      clients.set(target.id, await connectDevice(server.mqttUrl, target.id, secret))
    }
    // end devices of the network servers, and the parcels driver events name
    for (const id of ['eui-1', '0004a30b001c0530']) await server.registerDevice(id, 'tracker')
    for (const trackingNumber of ['TS-FUZZ-1', 'TS-FUZZ-2']) {
      expect((await server.api('POST', '/api/parcels', { trackingNumber, destination: { city: 'Bangkok', country: 'TH' }, cashOnDelivery: { amount: 450, currency: 'THB' } })).status).toBe(201)
    }
  })
  afterAll(async () => {
    for (const client of clients.values()) await client.endAsync(true)
    await server?.close()
  })

  it.each(TARGETS.map((t) => [t.format, t.channel, t] as const))('MQTT, %s on %s: every payload is acknowledged, and the device stays connected', async (_format, _channel, target) => {
    const client = clients.get(target.id) as MqttClient
    await fc.assert(fc.asyncProperty(payloadFor(target.format, target.channel), async (payload) => {
      await client.publishAsync(target.topic, payload, { qos: 1 })
      expect(client.connected).toBe(true)
    }), { numRuns: RUNS })
  }, 120_000)

  it('HTTP ingest: every body is answered 200 with its refusals, or 4xx, never 5xx', async () => {
    const auth = (id: string): string => `Basic ${Buffer.from(`${id}:${secrets.get(id) ?? ''}`).toString('base64')}`
    const routes: Array<[string, string, DeviceFormat, Channel]> = [
      ['/api/ingest/fix', 'fz-ts', 'trackstream', 'fix'], ['/api/ingest/scan', 'fz-ts-reader', 'trackstream', 'scan'],
      ['/api/driver/events', 'fz-driver', 'trackstream', 'driver'], ['/owntracks', 'fz-owntracks', 'owntracks', 'fix'],
      ['/api/ingest/scan', 'fz-impinj', 'impinj', 'scan'], ['/integrations/ttn', 'fz-ttn', 'ttn', 'fix']
    ]
    for (const [route, id, format, channel] of routes) {
      await fc.assert(fc.asyncProperty(payloadFor(format, channel), async (payload) => {
        const response = await fetch(`${server.httpUrl}${route}`, { method: 'POST', headers: { authorization: auth(id), 'content-type': 'application/json' }, body: new Uint8Array(payload) })
        const text = await response.text()
        expect(response.status, text).toBeLessThan(500)
        expect(text).not.toMatch(DATABASE_WORDS)
      }), { numRuns: Math.ceil(RUNS / 2) })
    }
  }, 120_000)

  it('API bodies: a milestone of any content is recorded exactly as sent (201) or refused with a clear 4xx', async () => {
    const recorded: Array<{ note: string | undefined, time: string }> = []
    const body = fc.record({
      code: fc.oneof(fc.constantFrom('arrived_at_facility', 'out_for_delivery', 'customs_held'), nastyString),
      time: fc.oneof(fc.integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2026, 10, 30) }).map((ms) => new Date(ms).toISOString()), nastyString),
      note: fc.option(nastyString, { nil: undefined }),
      lat: fc.option(nastyNumber, { nil: undefined }),
      lon: fc.option(nastyNumber, { nil: undefined }),
      recipient: fc.option(nastyString, { nil: undefined })
    }, { requiredKeys: ['code', 'time'] })
    await fc.assert(fc.asyncProperty(body, async (milestone) => {
      const { status, body: answer } = await server.api<{ code?: string, message?: string }>('POST', '/api/parcels/TS-FUZZ-2/milestones', milestone)
      expect(status, JSON.stringify(answer)).toBeLessThan(500)
      if (status === 201) recorded.push({ note: milestone.note, time: new Date(milestone.time).toISOString() })
      else expect(answer.message ?? '').not.toMatch(DATABASE_WORDS)
    }), { numRuns: RUNS * 2 })
    const timeline = (await server.api<{ items: Array<{ time: string, note: string | null }> }>('GET', '/api/parcels/TS-FUZZ-2/timeline')).body.items
    for (const { note, time } of recorded) expect(timeline.some((m) => m.time === time && m.note === (note ?? null)), `${time} ${JSON.stringify(note)}`).toBe(true)
  }, 120_000)

  it('API bodies: parcels, stations, vehicles and geofences of any content are 2xx or 4xx, never 5xx or PostgreSQL\'s words', async () => {
    const anything = fc.dictionary(fc.constantFrom('trackingNumber', 'id', 'name', 'kind', 'lat', 'lon', 'city', 'country', 'plate', 'destination', 'cashOnDelivery', 'shape', 'epc', 'sscc', 'timezone'),
      fc.oneof(nastyString, nastyNumber, fc.record({ city: nastyString, country: fc.constantFrom('TH', 'XX', nastyString as unknown as string), amount: nastyNumber, currency: nastyString, type: fc.constantFrom('circle', 'polygon'), lat: nastyNumber, lon: nastyNumber, radiusM: nastyNumber })))
    for (const route of ['/api/parcels', '/api/stations', '/api/vehicles', '/api/geofences', '/api/webhooks']) {
      await fc.assert(fc.asyncProperty(anything, async (input) => {
        const { status, body } = await server.api<{ message?: string }>('POST', route, input)
        expect(status, `${route} ${JSON.stringify(input)} → ${JSON.stringify(body)}`).toBeLessThan(500)
        expect(JSON.stringify(body)).not.toMatch(DATABASE_WORDS)
      }), { numRuns: RUNS })
    }
  }, 120_000)

  it('afterwards: nothing stored lies outside its column\'s and the validation\'s range, PostgreSQL refused nothing, and every refusal is counted by reason', async () => {
    const sql = async (text: string): Promise<number> => (await server.db.pool.query<{ n: number }>(text)).rows[0]?.n ?? -1
    const { rows: refusedByDatabase } = await server.db.pool.query(`SELECT device_id, reasons, detail FROM ingest_rejects WHERE reasons && ARRAY['db_rejected', 'stage_failed']`)
    expect(refusedByDatabase).toEqual([])
    expect(await sql(`SELECT count(*)::int AS n FROM positions WHERE NOT (lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180
      AND (speed IS NULL OR speed BETWEEN 0 AND 350) AND (heading IS NULL OR heading BETWEEN 0 AND 360)
      AND (battery IS NULL OR battery BETWEEN 0 AND 100) AND (seq IS NULL OR seq >= 0)
      AND time <= now() + interval '5 minutes' AND time >= now() - interval '3651 days')`)).toBe(0)
    expect(await sql(`SELECT count(*)::int AS n FROM rfid_reads WHERE epc !~ '^([0-9A-F]{2}){2,62}$' OR antenna NOT BETWEEN 0 AND 65535
      OR (rssi IS NOT NULL AND rssi NOT BETWEEN -150 AND 30) OR time > now() + interval '5 minutes'`)).toBe(0)
    // what was refused was refused before the database, with its reason: never by PostgreSQL, never by a failing stage
    expect(await sql(`SELECT count(*)::int AS n FROM ingest_rejects WHERE reasons && ARRAY['db_rejected', 'stage_failed']`)).toBe(0)
    // and something was accepted, and something refused, from each device: both sides were exercised
    expect(await sql('SELECT count(DISTINCT device_id)::int AS n FROM ingest_rejects')).toBeGreaterThanOrEqual(TARGETS.length)
    expect(await sql('SELECT count(*)::int AS n FROM positions')).toBeGreaterThan(RUNS / 4)
    expect(await sql('SELECT count(*)::int AS n FROM rfid_reads')).toBeGreaterThan(0)

    const { rows } = await server.db.pool.query<{ device_id: string, reason: string, n: number }>(
      'SELECT device_id, unnest(reasons) AS reason, count(*)::int AS n FROM ingest_rejects GROUP BY 1, 2')
    for (const { device_id: id, reason, n } of rows) {
      expect(Object.keys(REJECT_REASONS)).toContain(reason)
      const counted = (await server.api<Device>('GET', `/api/devices/${id}`)).body.status.rejects[reason] ?? 0
      expect(counted, `${id} ${reason}`).toBeGreaterThanOrEqual(n)
    }
  })
})
