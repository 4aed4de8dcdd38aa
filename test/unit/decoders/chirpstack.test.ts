import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { decodeChirpstack as decodeChirpstackUnchecked } from '../../../gateway/decoders/chirpstack.js'
import type { DecodeContext, DecodedBatch } from '../../../gateway/decoders/format.js'
import { REJECT_REASONS } from '../../../gateway/rejects.js'
import { checkFix, type ValidationLimits } from '../../../server/pipeline/stages/validate.js'
import { sane } from '../../support/sane.js'

/** Every fix and scan it returns passes the decoders' shared sanity check. */
const decodeChirpstack = sane(decodeChirpstackUnchecked)

const FIXTURES = fileURLToPath(new URL('../../fixtures/chirpstack/', import.meta.url))
const SHARED = join(process.env.TRACKSTREAM_REALDATA ?? '/work/shared/realdata', 'vendor-samples/chirpstack')
const hasShared = existsSync(SHARED)
if (!hasShared) console.warn(`chirpstack tests: ${SHARED} is absent, so the ChirpStack documentation samples (not redistributable) are skipped`)

const LIMITS: ValidationLimits = { now: () => Date.UTC(2026, 10, 23), maxFutureMs: 300_000, maxAgeMs: 100 * 365 * 86_400_000 }
const APP = '8a1d2f40-3b6e-4c57-9d18-6f2a0b3c4d5e'
const DOCS_APP = '17c82e96-be03-4f38-aef3-f83d48582d97'

type Json = Record<string, unknown>

function fixture (name: string): Buffer {
  return readFileSync(join(FIXTURES, name))
}

function fixtureJson (name: string): Json {
  return JSON.parse(fixture(name).toString('utf8')) as Json
}

function topic (devEui: string, event: string, app = APP): string {
  return `application/${app}/device/${devEui}/event/${event}`
}

/** The integration's own MQTT username is the context device: never the tracker. */
function decode (payload: Buffer | Json, mqttTopic: string | null): DecodedBatch {
  const context: DecodeContext = { deviceId: 'chirpstack-integration', topic: mqttTopic, receivedAt: Date.UTC(2026, 10, 23, 3, 0, 0) }
  return decodeChirpstack(Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload)), context)
}

function only (reason: string, detail: string): DecodedBatch {
  return { fixes: [], scans: [], events: [], driverEvents: [], rejects: [{ reason: reason as keyof typeof REJECT_REASONS, detail }] }
}

describe('ChirpStack, real capture (ttnmapper/ingress-api)', () => {
  it('refuses the v3 Adeunis FTD event instead of reading objectJSON or a gateway location', () => {
    const v3 = fixture('ttnmapper-chirpstack-v3-adeunis-ftd.json')
    const refusal = only('wrong_format', 'a ChirpStack v3 event (devEUI, objectJSON); trackstream reads ChirpStack v4 events')
    expect(decode(v3, 'application/42/device/0018b20000002265/event/up')).toEqual(refusal)
    expect(decode(v3, null)).toEqual(refusal)
  })
})

describe('ChirpStack v4, documentation samples', () => {
  it.skipIf(!hasShared)('refuses an up event without object: no codec is configured', () => {
    expect(decode(readFileSync(join(SHARED, 'event-up.json')), topic('0101010101010101', 'up', DOCS_APP)))
      .toEqual(only('no_position', 'no object: no codec is configured in the device profile'))
  })

  it.skipIf(!hasShared)('refuses the location event, over MQTT and over HTTP', () => {
    const refusal = only('no_position', 'a network-estimated location, not the device\'s own')
    const location = readFileSync(join(SHARED, 'event-location.json'))
    expect(decode(location, topic('0101010101010101', 'location', DOCS_APP))).toEqual(refusal)
    expect(decode(location, null)).toEqual(refusal)
  })

  it.skipIf(!hasShared)('refuses a topic naming another device', () => {
    expect(decode(readFileSync(join(SHARED, 'event-up.json')), topic('0202020202020202', 'up', DOCS_APP)))
      .toEqual(only('device_mismatch', 'deviceInfo.devEui "0101010101010101" is not "0202020202020202" from the topic'))
  })
})

describe('ChirpStack v4, documented format', () => {
  const up = fixtureJson('constructed-v4-up-gps.json')

  it('makes the fix from the codec object, never from the gateway, keyed by the lower-case DevEUI', () => {
    const batch = decode(up, topic('A84041000181C8D2', 'up'))
    expect(batch).toEqual({
      fixes: [{ deviceId: 'a84041000181c8d2', time: Date.UTC(2024, 5, 3, 14, 22, 17, 123), lat: 48.85837, lon: 2.294481, altitude: 35.2, speed: 15, battery: 76 }],
      scans: [],
      events: [],
      driverEvents: [],
      rejects: []
    })
    expect(batch.fixes.map((fix) => checkFix(fix, LIMITS))).toEqual([undefined])
  })

  it('reads an up event over HTTP, where no topic names the event', () => {
    expect(decode(up, null).fixes.map((fix) => fix.deviceId)).toEqual(['a84041000181c8d2'])
  })

  it('refuses an up event whose codec says there is no fix, mentioning the ignored gateway', () => {
    expect(decode(fixture('constructed-v4-up-no-fix.json'), topic('a84041000181c8d2', 'up'))).toEqual(only('no_position',
      'the decoded payload says there is no GPS fix (gpsFix: false); the gateway location in rxInfo was ignored'))
  })

  it('refuses an up event whose object has no coordinates', () => {
    expect(decode({ ...up, object: { temperature: 21.5 } }, topic('a84041000181c8d2', 'up'))).toEqual(only('no_position',
      'the decoded payload has no latitude/longitude (keys: temperature); the gateway location in rxInfo was ignored'))
  })

  it('takes the battery from deviceStatus when the codec gives none, unless the device is mains-powered', () => {
    const gps = { latitude: 48.85837, longitude: 2.294481 }
    expect(decode({ ...up, object: gps }, null).fixes.map((fix) => fix.battery)).toEqual([80.5])
    const mains = { ...up, object: gps, deviceStatus: { margin: 9, externalPowerSource: true, batteryLevel: 0 } }
    expect(decode(mains, null).fixes.map((fix) => fix.battery)).toEqual([undefined])
  })

  it.each(['join', 'status', 'ack', 'txack', 'log', 'integration'])('refuses a %s event as unsupported', (event) => {
    const join = fixture(event === 'status' ? 'constructed-v4-status.json' : 'constructed-v4-join.json')
    expect(decode(join, topic('a84041000181c8d2', event))).toEqual(only('unsupported_message', `event "${event}"`))
  })

  it('refuses a join event over HTTP without guessing it is an uplink', () => {
    expect(decode(fixture('constructed-v4-join.json'), null)).toEqual(only('unsupported_message', 'event "unknown (no MQTT topic to name it)"'))
  })

  it('refuses a protobuf payload, asking for the JSON marshaler', () => {
    const protobuf = Buffer.from([0x0a, 0x24, 0x35, 0x65, 0x33, 0x61, 0x12, 0x0c, 0x08, 0xb9, 0xde, 0x83, 0xb3, 0x06, 0x1a, 0x4a])
    expect(decode(protobuf, topic('a84041000181c8d2', 'up')))
      .toEqual(only('wrong_format', 'not JSON: ChirpStack must be set to the JSON marshaler (marshaler="json" in the MQTT integration), not protobuf'))
  })

  it('refuses broken JSON, a missing devEui, a missing time, and a topic that is not ChirpStack\'s', () => {
    expect(decode(Buffer.from('{"deviceInfo":'), null).rejects.map((r) => r.reason)).toEqual(['malformed_json'])
    expect(decode({ ...up, deviceInfo: { deviceName: 'van-tracker-3' } }, null)).toEqual(only('missing_device_id', 'the event has no deviceInfo.devEui'))
    expect(decode({ ...up, time: undefined }, null)).toEqual(only('invalid_fix', 'time (missing) is not an ISO 8601 time'))
    expect(decode(up, 'v3/app/devices/dev/up'))
      .toEqual(only('wrong_format', 'topic "v3/app/devices/dev/up" is not application/<applicationId>/device/<devEui>/event/<event>'))
    expect(decode(Buffer.from('[]'), null)).toEqual(only('wrong_format', 'not a ChirpStack event JSON object'))
  })
})

describe('ChirpStack decoder on garbage', () => {
  it('never throws on mutated payloads, and never emits a NaN fix', () => {
    const seeds = ['ttnmapper-chirpstack-v3-adeunis-ftd.json', 'constructed-v4-up-gps.json', 'constructed-v4-up-no-fix.json', 'constructed-v4-join.json'].map(fixture)
    const random = mulberry32(0xc4195)
    for (let round = 0; round < 2000; round++) {
      const seed = seeds[round % seeds.length] ?? Buffer.alloc(0)
      const batch = decode(mutate(seed, random), round % 2 === 0 ? null : topic('a84041000181c8d2', 'up'))
      for (const fix of batch.fixes) {
        expect([fix.time, fix.lat, fix.lon].every(Number.isFinite)).toBe(true)
        expect(fix.deviceId).toBe(fix.deviceId.toLowerCase())
      }
      for (const reject of batch.rejects) expect(Object.keys(REJECT_REASONS)).toContain(reject.reason)
    }
  })
})

function mulberry32 (seed: number): () => number {
  let state = seed
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** One to three random byte flips, cuts, insertions or duplications of a real payload. */
function mutate (seed: Buffer, random: () => number): Buffer {
  let bytes = Buffer.from(seed)
  const at = (): number => Math.floor(random() * (bytes.length + 1))
  for (let n = 1 + Math.floor(random() * 3); n > 0; n--) {
    const choice = random()
    const i = at()
    if (choice < 0.3 && bytes.length > 0) bytes[Math.min(i, bytes.length - 1)] = Math.floor(random() * 256)
    else if (choice < 0.5) bytes = bytes.subarray(0, i)
    else if (choice < 0.75) bytes = Buffer.concat([bytes.subarray(0, i), Buffer.from('{}[]",:0-.eE9zZ\\'.charAt(Math.floor(random() * 16))), bytes.subarray(i)])
    else bytes = Buffer.concat([bytes.subarray(0, i), bytes.subarray(Math.floor(random() * bytes.length))])
  }
  return bytes
}
