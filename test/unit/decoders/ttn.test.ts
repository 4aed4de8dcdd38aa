import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { DecodeContext, DecodedBatch } from '../../../gateway/decoders/format.js'
import { parseIsoTime } from '../../../gateway/decoders/iso-time.js'
import { findOwnPosition } from '../../../gateway/decoders/lorawan-position.js'
import { decodeTtn as decodeTtnUnchecked } from '../../../gateway/decoders/ttn.js'
import { REJECT_REASONS } from '../../../gateway/rejects.js'
import { checkFix, type ValidationLimits } from '../../../server/pipeline/stages/validate.js'
import { sane } from '../../support/sane.js'

/** Every fix and scan it returns passes the decoders' shared sanity check. */
const decodeTtn = sane(decodeTtnUnchecked)

const FIXTURES = fileURLToPath(new URL('../../fixtures/ttn/', import.meta.url))
const SHARED = join(process.env.TRACKSTREAM_REALDATA ?? '/work/shared/realdata', 'vendor-samples/ttn')
const hasShared = existsSync(SHARED)
if (!hasShared) console.warn(`ttn tests: ${SHARED} is absent, so the TTS documentation samples (not redistributable) are skipped`)

const LIMITS: ValidationLimits = { now: () => Date.UTC(2026, 10, 23), maxFutureMs: 300_000, maxAgeMs: 100 * 365 * 86_400_000 }
const RECEIVED = Date.UTC(2026, 10, 23, 3, 0, 0)

type Json = Record<string, unknown>

function fixture (name: string): Buffer {
  return readFileSync(join(FIXTURES, name))
}

function fixtureJson (name: string): Json {
  return JSON.parse(fixture(name).toString('utf8')) as Json
}

/** The integration's own MQTT username is the context device: never the tracker. */
function decode (payload: Buffer | Json, topic: string | null = null): DecodedBatch {
  const context: DecodeContext = { deviceId: 'tts-integration', topic, receivedAt: RECEIVED }
  return decodeTtn(Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload)), context)
}

function only (reason: string, detail: string): DecodedBatch {
  return { fixes: [], scans: [], events: [], driverEvents: [], rejects: [{ reason: reason as keyof typeof REJECT_REASONS, detail }] }
}

function withDevEui (message: Json, devEui: string): Json {
  return { ...message, end_device_ids: { ...(message.end_device_ids as Json), dev_eui: devEui } }
}

function withUplink (message: Json, changes: Json): Json {
  return { ...message, uplink_message: { ...(message.uplink_message as Json), ...changes } }
}

describe('The Things Stack v3, real captures (ttnmapper/ingress-api)', () => {
  it('refuses the ABP cricket uplink, which has a position but no dev_eui', () => {
    const batch = decode(fixture('ttnmapper-cricket-001-gps0-no-dev-eui.json'), 'v3/jpm-crickets@ttn/devices/cricket-001/up')
    expect(batch).toEqual(only('missing_device_id', 'end_device_ids has no dev_eui (device "cricket-001"; an ABP device registered without a DevEUI?)'))
  })

  it('finds the position in its Cayenne LPP gps_0 object', () => {
    const decoded = (fixtureJson('ttnmapper-cricket-001-gps0-no-dev-eui.json').uplink_message as Json).decoded_payload
    expect(findOwnPosition(decoded)).toEqual({
      kind: 'position',
      position: { lat: -33.93659973144531, lon: 18.871000289916992, altitude: 114.19999694824219 }
    })
  })

  it('makes a fix of that uplink once it names its device, timed by uplink_message.received_at', () => {
    const message = withDevEui(fixtureJson('ttnmapper-cricket-001-gps0-no-dev-eui.json'), '70B3D5499A1B2C3D')
    const batch = decode(message, 'v3/jpm-crickets@ttn/devices/cricket-001/up')
    expect(batch).toEqual({
      fixes: [{ deviceId: '70b3d5499a1b2c3d', time: Date.UTC(2020, 3, 5, 13, 16, 51, 68), lat: -33.93659973144531, lon: 18.871000289916992, altitude: 114.19999694824219 }],
      scans: [],
      events: [],
      driverEvents: [],
      rejects: []
    })
    expect(batch.fixes.map((fix) => checkFix(fix, LIMITS))).toEqual([undefined])
  })

  it('refuses the RAK7200 uplink without a GPS channel, saying the gateway location was ignored', () => {
    const batch = decode(fixture('ttnmapper-rak7200-no-gps-gateway-location.json'), 'v3/izinto-rak7200@ttn/devices/eui-ac1f09fffe00357f/up')
    expect(batch).toEqual(only('no_position',
      'the decoded payload has no latitude/longitude (keys: accelerometer_3, analog_in_10, analog_in_11, analog_in_8, analog_in_9, gyrometer_5); ' +
      'a gateway location (rx_metadata) was present and ignored'))
  })

  it('refuses the empty cricket-002 uplink; with a dev_eui, it names both locations it ignored', () => {
    const message = fixtureJson('ttnmapper-cricket-002-registry-and-gateway.json')
    expect(decode(message).rejects.map((r) => r.reason)).toEqual(['missing_device_id'])
    expect(decode(withDevEui(message, '70B3D5499A1B2C3E'), 'v3/jpm-crickets@ttn/devices/cricket-002/up')).toEqual(only('no_position',
      'the decoded payload has no latitude/longitude (keys: none); ' +
      'a gateway location (rx_metadata) and a registry location (locations.user, SOURCE_REGISTRY) were present and ignored'))
  })

  it('refuses the LED uplink, which has no position at all', () => {
    expect(decode(fixture('ttnmapper-ledstate-no-position.json'), 'v3/jpm-test/devices/eui-0004a30b001c684f/up'))
      .toEqual(only('no_position', 'the decoded payload has no latitude/longitude (keys: ledState)'))
  })

  it('refuses a topic naming another device', () => {
    expect(decode(fixture('ttnmapper-rak7200-no-gps-gateway-location.json'), 'v3/izinto-rak7200@ttn/devices/eui-ac1f09fffe00357e/up'))
      .toEqual(only('device_mismatch', 'end_device_ids.device_id "eui-ac1f09fffe00357f" is not "eui-ac1f09fffe00357e" from the topic'))
  })
})

describe('The Things Stack v3, documentation samples', () => {
  it.skipIf(!hasShared)('refuses the data-formats example: sensor values, and only a registry location', () => {
    expect(decode(readFileSync(join(SHARED, 'uplink-data-formats-example.json')), 'v3/app1/devices/dev1/up')).toEqual(only('no_position',
      'the decoded payload has no latitude/longitude (keys: temperature, luminosity); a registry location (locations.user, SOURCE_REGISTRY) was present and ignored'))
  })

  it.skipIf(!hasShared)('refuses the MQTT example, which has no decoded payload', () => {
    expect(decode(readFileSync(join(SHARED, 'uplink-mqtt-example.json')), 'v3/app1@tenant1/devices/dev1/up'))
      .toEqual(only('no_position', 'no decoded_payload (no payload formatter?)'))
  })
})

describe('The Things Stack v3, documented format', () => {
  const tracker = fixtureJson('constructed-uplink-gps-tracker.json')

  it('makes the fix from the decoded payload, with its own time, and ignores the gateway and registry', () => {
    const batch = decode(tracker, 'v3/trackstream-fleet@ttn/devices/parcel-tracker-07/up')
    expect(batch).toEqual({
      fixes: [{ deviceId: '70b3d57ed0051a2b', time: Date.UTC(2024, 4, 14, 9, 59, 58), lat: 52.371285, lon: 4.898912, altitude: 12.5, accuracy: 6, speed: 10, heading: 90, battery: 87 }],
      scans: [],
      events: [],
      driverEvents: [],
      rejects: []
    })
    expect(batch.fixes.map((fix) => checkFix(fix, LIMITS))).toEqual([undefined])
  })

  it('accepts a topic without a tenant, and no topic at all (webhook)', () => {
    expect(decode(tracker, 'v3/trackstream-fleet/devices/parcel-tracker-07/up').fixes).toHaveLength(1)
    expect(decode(tracker, null).fixes).toHaveLength(1)
  })

  it('falls back to locations["frm-payload"] when there is no decoded payload', () => {
    const batch = decode(fixture('constructed-uplink-frm-payload-location-only.json'), 'v3/trackstream-fleet@ttn/devices/parcel-tracker-08/up')
    expect(batch.fixes).toEqual([{ deviceId: '70b3d57ed0051a2c', time: Date.UTC(2024, 4, 14, 10, 5, 7, 23), lat: 51.9244, lon: 4.4777, accuracy: 12 }])
    expect(batch.fixes.map((fix) => checkFix(fix, LIMITS))).toEqual([undefined])
  })

  it('believes a decoded payload that says there is no fix, even with a frm-payload location', () => {
    const decoded = { ...((tracker.uplink_message as Json).decoded_payload as Json), gps_fix: false }
    expect(decode(withUplink(tracker, { decoded_payload: decoded }))).toEqual(only('no_position',
      'the decoded payload says there is no GPS fix (gps_fix: false); a gateway location (rx_metadata) and a registry location (locations.user, SOURCE_REGISTRY) were present and ignored'))
  })

  it('times a fix without a codec time by uplink_message.received_at, then by received_at', () => {
    const decoded = { latitude: 52.1, longitude: 4.3 }
    const plain = withUplink(tracker, { decoded_payload: decoded })
    expect(decode(plain).fixes.map((fix) => fix.time)).toEqual([Date.UTC(2024, 4, 14, 10, 0, 2, 301)])
    const noUplinkTime = withUplink(tracker, { decoded_payload: decoded, received_at: undefined })
    expect(decode(noUplinkTime).fixes.map((fix) => fix.time)).toEqual([Date.UTC(2024, 4, 14, 10, 0, 2, 512)])
    expect(decode({ ...noUplinkTime, received_at: 'soon' })).toEqual(only('invalid_fix', 'no time: neither the decoded payload nor received_at gives one'))
  })

  it('refuses join accepts and location_solved messages as unsupported', () => {
    expect(decode(fixture('constructed-join-accept.json'), 'v3/trackstream-fleet@ttn/devices/parcel-tracker-07/join'))
      .toEqual(only('unsupported_message', 'ApplicationUp join_accept'))
    expect(decode(fixture('constructed-location-solved.json'), 'v3/trackstream-fleet@ttn/devices/parcel-tracker-07/location/solved'))
      .toEqual(only('unsupported_message', 'ApplicationUp location_solved'))
    expect(decode({ end_device_ids: {}, downlink_ack: { f_port: 1 } })).toEqual(only('unsupported_message', 'ApplicationUp downlink_ack'))
    expect(decode({ end_device_ids: {} })).toEqual(only('unsupported_message', 'ApplicationUp without uplink_message'))
  })

  it('refuses a simulated uplink', () => {
    expect(decode({ ...tracker, simulated: true })).toEqual(only('unsupported_message', 'a simulated uplink (sent from the TTS Console, not by the device)'))
  })

  it('refuses a topic that is not a TTS one, broken JSON and non-objects', () => {
    expect(decode(tracker, 'owntracks/user/phone')).toEqual(only('wrong_format', 'topic "owntracks/user/phone" is not v3/<app>[@<tenant>]/devices/<device>/<event>'))
    expect(decode(Buffer.from('{"end_device_ids":')).rejects.map((r) => r.reason)).toEqual(['malformed_json'])
    expect(decode(Buffer.from('[]'))).toEqual(only('wrong_format', 'not an ApplicationUp JSON object'))
  })
})

describe('findOwnPosition', () => {
  it.each([
    ['lat/lon', { lat: 1.5, lon: 2.5 }],
    ['lat/lng', { lat: 1.5, lng: 2.5 }],
    ['lat/long', { lat: 1.5, long: 2.5 }],
    ['Latitude/Longitude (Dragino spelling)', { Latitude: 1.5, Longitude: 2.5 }],
    ['decimal strings', { latitude: '1.5', longitude: ' 2.5 ' }],
    ['nested gps', { gps: { latitude: 1.5, longitude: 2.5 } }],
    ['nested gnss', { gnss: { lat: 1.5, lng: 2.5 } }],
    ['nested location', { location: { lat: 1.5, lon: 2.5 } }],
    ['nested position', { position: { latitude: 1.5, longitude: 2.5 } }]
  ])('reads %s', (_name, decoded) => {
    expect(findOwnPosition(decoded)).toEqual({ kind: 'position', position: { lat: 1.5, lon: 2.5 } })
  })

  it.each([
    ['gps_fix false', { latitude: 1.5, longitude: 2.5, gps_fix: false }, 'gps_fix: false'],
    ['fix 0', { latitude: 1.5, longitude: 2.5, fix: 0 }, 'fix: 0'],
    ['fix "no fix"', { latitude: 1.5, longitude: 2.5, fix: 'no fix' }, 'fix: "no fix"'],
    ['valid "invalid" in the gps object', { gps: { latitude: 1.5, longitude: 2.5, valid: 'invalid' } }, 'valid: "invalid"'],
    ['a top-level gpsFix false beside a nested gps object', { gpsFix: false, gps: { latitude: 1.5, longitude: 2.5 } }, 'gpsFix: false']
  ])('reads %s as no position', (_name, decoded, flag) => {
    expect(findOwnPosition(decoded)).toEqual({ kind: 'no-fix', detail: `the decoded payload says there is no GPS fix (${flag})` })
  })

  it('keeps a fix flagged true or "3D"', () => {
    expect(findOwnPosition({ lat: 1.5, lon: 2.5, gps_fix: true, fix: '3D' })).toEqual({ kind: 'position', position: { lat: 1.5, lon: 2.5 } })
  })

  it('refuses what is not an object, and names the keys of what has no coordinates', () => {
    expect(findOwnPosition([1, 2])).toEqual({ kind: 'absent', detail: 'the decoded payload is not an object' })
    expect(findOwnPosition({ lat: 1.5 })).toEqual({ kind: 'absent', detail: 'the decoded payload has no latitude/longitude (keys: lat)' })
    expect(findOwnPosition({ lat: 'north', lon: 2 }).kind).toBe('absent')
  })

  it('converts speeds to m/s by the unit in the key, taking a bare speed as km/h', () => {
    const speed = (extra: Json): number | undefined => {
      const found = findOwnPosition({ lat: 1, lon: 2, ...extra })
      return found.kind === 'position' ? found.position.speed : undefined
    }
    expect([speed({ speed: 36 }), speed({ speed_kmh: 72 }), speed({ speed_mps: 3 }), speed({ speed_knots: 10 })]).toEqual([10, 20, 3, 10 * 1852 / 3600])
  })

  it('takes a bare battery as percent only when it is a whole number from 0 to 100', () => {
    const battery = (extra: Json): number | undefined => {
      const found = findOwnPosition({ lat: 1, lon: 2, ...extra })
      return found.kind === 'position' ? found.position.battery : undefined
    }
    expect([battery({ battery: 87 }), battery({ battery: 3.6 }), battery({ battery: 3507 }), battery({ batteryLevel: 55.5 }), battery({ battery_pct: 12 })])
      .toEqual([87, undefined, undefined, 55.5, 12])
  })

  it('keeps hdop apart from accuracy, and reads heading, altitude and accuracy beside nested coordinates', () => {
    expect(findOwnPosition({ gps: { lat: 1, lon: 2, alt: -3, hdop: 1.2, cog: 181 }, accuracy_m: 9 }))
      .toEqual({ kind: 'position', position: { lat: 1, lon: 2, altitude: -3, hdop: 1.2, heading: 181, accuracy: 9 } })
  })

  it('reads a codec time in ISO 8601, epoch seconds or epoch ms, and ignores uptime counters', () => {
    const time = (value: unknown): number | undefined => {
      const found = findOwnPosition({ lat: 1, lon: 2, time: value })
      return found.kind === 'position' ? found.position.time : undefined
    }
    expect([time('2024-05-14T09:59:58.5+02:00'), time(1715680798), time(1715680798500), time(86_400), time('09:59:58')])
      .toEqual([Date.UTC(2024, 4, 14, 7, 59, 58, 500), 1715680798000, 1715680798500, undefined, undefined])
  })

  it('prefers the top level, then the named objects, then Cayenne LPP channels in order', () => {
    const found = findOwnPosition({ gps_2: { latitude: 3, longitude: 3 }, gps_1: { latitude: 2, longitude: 2 }, location: { lat: 1, lon: 1 } })
    expect(found).toEqual({ kind: 'position', position: { lat: 1, lon: 1 } })
    expect(findOwnPosition({ gps_2: { latitude: 3, longitude: 3 }, gps_1: { latitude: 2, longitude: 2 } }))
      .toEqual({ kind: 'position', position: { lat: 2, lon: 2 } })
  })
})

describe('parseIsoTime', () => {
  it.each([
    ['2020-02-12T15:15:46.014773143Z', Date.UTC(2020, 1, 12, 15, 15, 46, 14)],
    ['2022-07-18T09:34:15.775023242+00:00', Date.UTC(2022, 6, 18, 9, 34, 15, 775)],
    ['2021-01-21T20:19:34.684-0600', Date.UTC(2021, 0, 22, 2, 19, 34, 684)],
    ['2024-02-29T23:59:59.999999999+01:00', Date.UTC(2024, 1, 29, 22, 59, 59, 999)],
    ['2024-05-14 10:00:02Z', Date.UTC(2024, 4, 14, 10, 0, 2)]
  ])('reads %s', (text, time) => {
    expect(parseIsoTime(text)).toBe(time)
  })

  it.each(['2023-02-29T00:00:00Z', '2024-13-01T00:00:00Z', '2024-01-01T24:00:00Z', '2024-01-01T00:00:00', '2024-01-01T00:00:00.1234567890Z', '', 'NaN'])('refuses %j', (text) => {
    expect(parseIsoTime(text)).toBeUndefined()
  })
})

describe('TTS decoder on garbage', () => {
  it('never throws on mutated payloads, and never emits a NaN fix', () => {
    const names = ['ttnmapper-cricket-001-gps0-no-dev-eui.json', 'ttnmapper-rak7200-no-gps-gateway-location.json', 'ttnmapper-cricket-002-registry-and-gateway.json', 'constructed-uplink-gps-tracker.json', 'constructed-uplink-frm-payload-location-only.json']
    const seeds = names.map(fixture)
    const random = mulberry32(0x77a)
    for (let round = 0; round < 2000; round++) {
      const seed = seeds[round % seeds.length] ?? Buffer.alloc(0)
      const batch = decode(mutate(seed, random), round % 2 === 0 ? null : 'v3/trackstream-fleet@ttn/devices/parcel-tracker-07/up')
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
