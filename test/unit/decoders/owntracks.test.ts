import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { DecodeContext, DecodedBatch } from '../../../gateway/decoders/format.js'
import { decodeOwnTracks as decodeOwnTracksUnchecked } from '../../../gateway/decoders/owntracks.js'
import { REJECT_REASONS } from '../../../gateway/rejects.js'
import type { Fix } from '../../../proto/types.js'
import { checkFix, type ValidationLimits } from '../../../server/pipeline/stages/validate.js'
import { sane } from '../../support/sane.js'

/** Every fix and scan it returns passes the decoders' shared sanity check. */
const decodeOwnTracks = sane(decodeOwnTracksUnchecked)

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/owntracks')
const REALDATA = path.join(process.env.TRACKSTREAM_REALDATA ?? '/work/shared/realdata', 'vendor-samples/owntracks')

// the latest capture (an Android fixture) is from 2026-05-08
const NOW = Date.UTC(2026, 5, 1)
const RECEIVED = Date.UTC(2026, 4, 20, 12, 0, 0)
const limits: ValidationLimits = { now: () => NOW, maxFutureMs: 300_000, maxAgeMs: 100 * 365 * 86_400_000 }
const MQTT: DecodeContext = { deviceId: 'phone-1', topic: 'owntracks/jane/phone', receivedAt: RECEIVED }
const HTTP: DecodeContext = { deviceId: 'phone-1', topic: null, receivedAt: RECEIVED }

function fixture (name: string): Buffer {
  return readFileSync(path.join(FIXTURES, name))
}

function decode (payload: Buffer | string, context: DecodeContext = MQTT): DecodedBatch {
  return decodeOwnTracks(typeof payload === 'string' ? Buffer.from(payload) : payload, context)
}

function onlyFix (batch: DecodedBatch): Fix {
  expect(batch.rejects).toEqual([])
  expect(batch.events).toEqual([])
  expect(batch.fixes).toHaveLength(1)
  const fix = batch.fixes[0]
  if (fix === undefined) throw new Error('no fix')
  expect(checkFix(fix, limits)).toBeUndefined()
  return fix
}

function reasons (batch: DecodedBatch): string[] {
  return batch.rejects.map((r) => r.reason)
}

describe('OwnTracks: Traccar decoder test bodies (HTTP POST)', () => {
  it('android: vel 0 stays 0 m/s, vac is ignored, no topic key so the id is the transport\'s', () => {
    expect(onlyFix(decode(fixture('traccar/traccar-test-location-android.json'), HTTP))).toEqual({
      deviceId: 'phone-1', time: 1551874878000, lat: 46.0681247, lon: 11.1512805, speed: 0, accuracy: 15, altitude: 440, battery: 46
    })
  })

  it('an altitude whose vertical accuracy is negative (vac -1, CoreLocation\'s invalid altitude) is no altitude', () => {
    const message = { _type: 'location', lat: 48.85833, lon: 2.29513, tst: 1497349316, alt: 0, vac: -1, acc: 5 }
    expect(onlyFix(decode(Buffer.from(JSON.stringify(message)), HTTP))).toEqual({
      deviceId: 'phone-1', time: 1497349316000, lat: 48.85833, lon: 2.29513, accuracy: 5
    })
    // vac 0 says nothing is wrong with the altitude
    expect(onlyFix(decode(Buffer.from(JSON.stringify({ ...message, vac: 0, alt: -4 })), HTTP))?.altitude).toBe(-4)
  })

  it('minimal: five keys, no optional fields', () => {
    expect(onlyFix(decode(fixture('traccar/traccar-test-location-minimal.json'), HTTP))).toEqual({
      deviceId: 'phone-1', time: 1497349316000, lat: 48.85833, lon: 2.29513
    })
  })

  it('ios moving: vel 61 is km/h, so 61 / 3.6 m/s; cog becomes heading', () => {
    expect(onlyFix(decode(fixture('traccar/traccar-test-location-ios-moving.json'), HTTP))).toEqual({
      deviceId: 'phone-1', time: 1497349316000, lat: 48.85833, lon: 2.29513, speed: 61 / 3.6, heading: 271, accuracy: 5, altitude: 167, battery: 67
    })
  })

  it('short coordinates keep their 2-3 decimals', () => {
    expect(onlyFix(decode(fixture('traccar/traccar-test-location-short-coords.json'), HTTP))).toEqual({
      deviceId: 'phone-1', time: 1497476456000, lat: 48.85, lon: 2.295
    })
  })

  it('integer coordinates; the body topic (a UUID device) does not change the device id', () => {
    expect(onlyFix(decode(fixture('traccar/traccar-test-location-integer-coords-uuid-topic.json'), HTTP))).toEqual({
      deviceId: 'phone-1', time: 1736161169000, lat: 37, lon: -122, accuracy: 5, altitude: 0
    })
  })

  it('qtripp (Queclink) with an IMEI topic, hex lac/cid and trigger "I": tst, not created_at', () => {
    expect(onlyFix(decode(fixture('traccar/traccar-test-location-qtripp-imei-topic.json'), HTTP))).toEqual({
      deviceId: 'phone-1', time: 1736519167000, lat: 47.420051, lon: 13.654704, speed: 0, heading: 113, accuracy: 10, altitude: 1113
    })
  })
})

describe('OwnTracks: json-schema test messages', () => {
  it('l.json', () => {
    expect(onlyFix(decode(fixture('json-schema-tests/l.json')))).toEqual({
      deviceId: 'phone-1', time: 1699882482000, lat: 52.195913, lon: 7.688245, accuracy: 35, altitude: 0, battery: 75
    })
  })

  it('l2.json (Queclink via qtripp): acc -1 means unknown and is dropped, 17-digit floats parse', () => {
    expect(onlyFix(decode(fixture('json-schema-tests/l2.json')))).toEqual({
      deviceId: 'phone-1', time: 1698947571000, lat: 53.026676, lon: 9.543561, speed: 0, heading: 80, altitude: 142.4, battery: 6
    })
  })

  it('location-5s.json: vel 1 km/h', () => {
    expect(onlyFix(decode(fixture('json-schema-tests/location-5s.json')))).toEqual({
      deviceId: 'phone-1', time: 1701263310000, lat: 53.430722, lon: 5.112126, speed: 1 / 3.6, heading: 252, accuracy: 9, altitude: 93, battery: 94
    })
  })

  it('location-short.json', () => {
    expect(onlyFix(decode(fixture('json-schema-tests/location-short.json')))).toEqual({
      deviceId: 'phone-1', time: 1692430980000, lat: 44.221389, lon: 6.64635, battery: 100
    })
  })

  it('location-sk.json: tst, not created_at; inregions ignored', () => {
    expect(onlyFix(decode(fixture('json-schema-tests/location-sk.json')))).toEqual({
      deviceId: 'phone-1', time: 1701258666000, lat: 71.215592, lon: 3.767957, accuracy: 35, altitude: 40, battery: 80
    })
  })

  it('location-lat-missing.json is invalid_fix', () => {
    const batch = decode(fixture('json-schema-tests/location-lat-missing.json'))
    expect(batch.fixes).toEqual([])
    expect(batch.rejects).toEqual([{ reason: 'invalid_fix', detail: 'location needs numeric lat and lon' }])
  })

  it('transition.json becomes geofence_enter at tst', () => {
    const batch = decode(fixture('json-schema-tests/transition.json'), { ...MQTT, topic: 'owntracks/jane/phone/event' })
    expect(batch).toEqual({
      fixes: [],
      scans: [],
      driverEvents: [],
      rejects: [],
      events: [{ deviceId: 'phone-1', time: 1701264368000, type: 'geofence_enter', detail: { region: 'blukii', trigger: 'b', lat: 61.195709, lon: 9.688233 } }]
    })
  })

  it('transition-illegal-lat.json (lat is a string) is invalid_fix', () => {
    const batch = decode(fixture('json-schema-tests/transition-illegal-lat.json'))
    expect(batch.events).toEqual([])
    expect(reasons(batch)).toEqual(['invalid_fix'])
  })

  it('lwt.json: offline at the receive time; tst is when the app connected, kept as detail', () => {
    expect(decode(fixture('json-schema-tests/lwt.json')).events).toEqual([
      { deviceId: 'phone-1', time: RECEIVED, type: 'offline', detail: { connectedAt: 1699882482000 } }
    ])
  })

  it('lwt-notst.json: still offline at the receive time', () => {
    const batch = decode(fixture('json-schema-tests/lwt-notst.json'))
    expect(batch.rejects).toEqual([])
    expect(batch.events).toEqual([{ deviceId: 'phone-1', time: RECEIVED, type: 'offline', detail: { connectedAt: null } }])
  })

  it('array.json: every element is decoded, in order', () => {
    const batch = decode(fixture('json-schema-tests/array.json'), HTTP)
    expect(batch).toEqual({
      fixes: [{ deviceId: 'phone-1', time: 1_000_000, lat: 8, lon: 9 }],
      scans: [],
      driverEvents: [],
      rejects: [],
      events: [{ deviceId: 'phone-1', time: RECEIVED, type: 'offline', detail: { connectedAt: 1_000_000 } }]
    })
    const [fix] = batch.fixes
    if (fix !== undefined) expect(checkFix(fix, limits)).toBeUndefined()
  })
})

describe('OwnTracks: booklet and Android samples (read from the shared realdata, not redistributable)', () => {
  const files = [
    'booklet-quicksetup-location.json', 'booklet-poi-location.json', 'booklet-lua-location-batt-minus1.json',
    'booklet-traccar-http-location.json', 'booklet-traccar-http-location-no-tst.json', 'android-fixture-valid-location.json',
    'android-fixture-location-extended.json', 'android-fixture-location-tst-zero.json'
  ]
  const absent = new Set(files.filter((name) => !existsSync(path.join(REALDATA, name))))
  if (absent.size > 0) console.warn(`${absent.size} OwnTracks booklet/Android cases skipped: not found in ${REALDATA} (set TRACKSTREAM_REALDATA)`)
  const missing = (name: string): boolean => absent.has(name)
  const sample = (name: string): Buffer => readFileSync(path.join(REALDATA, name))

  it.skipIf(missing('booklet-quicksetup-location.json'))('booklet quicksetup (MQTT): tst, not created_at one second later', () => {
    expect(onlyFix(decode(sample('booklet-quicksetup-location.json'), { ...MQTT, topic: 'owntracks/jane/nokia' }))).toEqual({
      deviceId: 'phone-1', time: 1706856298000, lat: 48.856826, lon: 2.292713, speed: 0, altitude: 154, battery: 53
    })
  })

  it.skipIf(missing('booklet-poi-location.json'))('booklet POI: the cut-short image does not matter', () => {
    expect(onlyFix(decode(sample('booklet-poi-location.json')))).toEqual({
      deviceId: 'phone-1', time: 1734377712000, lat: 52.085284, lon: 5.120975, accuracy: 5, altitude: 0
    })
  })

  it.skipIf(missing('booklet-lua-location-batt-minus1.json'))('booklet lua: batt -1 means unknown, so no battery', () => {
    expect(onlyFix(decode(sample('booklet-lua-location-batt-minus1.json')))).toEqual({
      deviceId: 'phone-1', time: 1441984413000, lat: 48.85833, lon: 2.29513
    })
  })

  it.skipIf(missing('booklet-traccar-http-location.json'))('booklet Traccar HTTP body with a space after a comma', () => {
    expect(onlyFix(decode(sample('booklet-traccar-http-location.json'), HTTP))).toEqual({
      deviceId: 'phone-1', time: 1497476456000, lat: 48.85833, lon: 2.29513
    })
  })

  it.skipIf(missing('booklet-traccar-http-location-no-tst.json'))('booklet HTTP body without tst is invalid_fix: no time is invented', () => {
    const batch = decode(sample('booklet-traccar-http-location-no-tst.json'), HTTP)
    expect(batch.fixes).toEqual([])
    expect(batch.rejects).toEqual([{ reason: 'invalid_fix', detail: 'location needs a non-zero numeric tst (epoch seconds)' }])
  })

  it.skipIf(missing('android-fixture-valid-location.json'))('Android valid fixture: decodes 0,0 as sent, and the pipeline refuses it', () => {
    const batch = decode(sample('android-fixture-valid-location.json'))
    expect(batch.fixes).toEqual([{ deviceId: 'phone-1', time: 1778266175000, lat: 0, lon: 0, speed: 0, heading: 0, accuracy: 15, altitude: 300, battery: 98 }])
    const [fix] = batch.fixes
    expect(fix === undefined ? undefined : checkFix(fix, limits)?.reason).toBe('bad_coordinates')
  })

  it.skipIf(missing('android-fixture-location-extended.json'))('Android extended fixture: float alt, extra _id and inregions', () => {
    expect(onlyFix(decode(sample('android-fixture-location-extended.json')))).toEqual({
      deviceId: 'phone-1', time: 1514455575000, lat: 52.3153748, lon: 5.0408462, heading: 56, accuracy: 1600, altitude: 0, battery: 99
    })
  })

  it.skipIf(missing('android-fixture-location-tst-zero.json'))('Android tst 0 is invalid_fix', () => {
    expect(reasons(decode(sample('android-fixture-location-tst-zero.json')))).toEqual(['invalid_fix'])
  })
})

describe('OwnTracks: message kinds and broken input', () => {
  it('a transition with event leave is geofence_leave; desc and t may be absent', () => {
    expect(decode('{"_type":"transition","event":"leave","tst":1701264368,"wtst":1,"acc":6}').events).toEqual([
      { deviceId: 'phone-1', time: 1701264368000, type: 'geofence_leave', detail: { region: null, trigger: null, lat: null, lon: null } }
    ])
  })

  it('a transition without tst or with an unknown event is invalid_fix', () => {
    expect(reasons(decode('{"_type":"transition","event":"enter","lat":1,"lon":2}'))).toEqual(['invalid_fix'])
    expect(reasons(decode('{"_type":"transition","event":"inside","tst":1701264368}'))).toEqual(['invalid_fix'])
  })

  it.each(['card', 'waypoints', 'waypoint', 'status', 'cmd', 'steps', 'beacon', 'request', 'encrypted', 'configuration'])(
    '_type %s is unsupported_message naming the type', (type) => {
      expect(decode(JSON.stringify({ _type: type, tst: 1701264368 })).rejects).toEqual([{ reason: 'unsupported_message', detail: `_type "${type}"` }])
    })

  it('not JSON is malformed_json', () => {
    expect(reasons(decode('{"_type":"location",'))).toEqual(['malformed_json'])
    expect(reasons(decode(''))).toEqual(['malformed_json'])
  })

  it('JSON without _type is invalid_fix, and so is a bare value', () => {
    expect(decode('{"lat":1,"lon":2,"tst":1701264368}').rejects).toEqual([{ reason: 'invalid_fix', detail: 'no _type, so not an OwnTracks message' }])
    expect(reasons(decode('42'))).toEqual(['invalid_fix'])
    expect(reasons(decode('null'))).toEqual(['invalid_fix'])
  })

  it('tst 0, a string tst and string coordinates are invalid_fix', () => {
    expect(reasons(decode('{"_type":"location","lat":1,"lon":2,"tst":0}'))).toEqual(['invalid_fix'])
    expect(reasons(decode('{"_type":"location","lat":1,"lon":2,"tst":"1701264368"}'))).toEqual(['invalid_fix'])
    expect(reasons(decode('{"_type":"location","lat":"1","lon":2,"tst":1701264368}'))).toEqual(['invalid_fix'])
  })

  it('an empty array is empty_batch; a mixed array keeps the good messages and names the bad one', () => {
    expect(reasons(decode('[]'))).toEqual(['empty_batch'])
    const batch = decode('[{"_type":"location","lat":1,"lon":2,"tst":1701264368},{"_type":"card"},"x"]', HTTP)
    expect(batch.fixes).toHaveLength(1)
    expect(batch.rejects).toEqual([
      { reason: 'unsupported_message', detail: 'message 1: _type "card"' },
      { reason: 'invalid_fix', detail: 'message 2: not a JSON object' }
    ])
  })

  it('leaves range checks to the pipeline: lat 91 decodes, checkFix refuses it', () => {
    const [fix] = decode('{"_type":"location","lat":91,"lon":2,"tst":1701264368}').fixes
    expect(fix?.lat).toBe(91)
    expect(fix === undefined ? undefined : checkFix(fix, limits)?.reason).toBe('bad_coordinates')
  })

  it('does not check the topic: routing does', () => {
    expect(decode(fixture('json-schema-tests/l.json'), { ...MQTT, topic: 'elsewhere' }).fixes).toHaveLength(1)
  })
})

describe('OwnTracks: fuzz', () => {
  const seeds = [
    'json-schema-tests/l2.json', 'json-schema-tests/transition.json', 'json-schema-tests/array.json',
    'json-schema-tests/lwt.json', 'traccar/traccar-test-location-ios-moving.json'
  ].map((name) => fixture(name))
  const values: unknown[] = [null, -1, 0, 1e308, -1e308, 'x', '', true, [], {}, [1, 2], { a: 1 }, 1.5, 'location', 'lwt', 'transition', 'enter']

  it('never throws on mutated bytes, and every outcome is a fix, an event or a known reject', () => {
    const random = mulberry32(0x07e7)
    for (let i = 0; i < 3000; i++) {
      const seed = seeds[i % seeds.length] ?? Buffer.alloc(0)
      expectBatch(decodeOwnTracks(mutateBytes(seed, random), i % 2 === 0 ? MQTT : HTTP))
    }
  })

  it('never throws when fields get values of the wrong type', () => {
    const random = mulberry32(0xbeef)
    for (let i = 0; i < 3000; i++) {
      const seed = seeds[i % seeds.length] ?? Buffer.alloc(0)
      const message: unknown = JSON.parse(seed.toString('utf8'))
      const targets = Array.isArray(message) ? message : [message]
      for (const target of targets) {
        if (typeof target !== 'object' || target === null) continue
        const record = target as Record<string, unknown>
        const keys = [...Object.keys(record), 'tst', 'lat', 'lon', '_type', 'event', 'batt']
        for (let n = 0; n < 3; n++) record[keys[Math.floor(random() * keys.length)] ?? 'x'] = values[Math.floor(random() * values.length)]
      }
      expectBatch(decodeOwnTracks(Buffer.from(JSON.stringify(message)), MQTT))
    }
  })
})

function expectBatch (batch: DecodedBatch): void {
  expect(Array.isArray(batch.fixes) && Array.isArray(batch.events) && Array.isArray(batch.scans)).toBe(true)
  for (const reject of batch.rejects) {
    expect(Object.keys(REJECT_REASONS)).toContain(reject.reason)
    // details end up in a PostgreSQL text column, which refuses NUL
    expect(reject.detail).not.toMatch(/[\u0000-\u001f]/)
  }
  for (const fix of batch.fixes) {
    expect(Number.isFinite(fix.time) && Number.isFinite(fix.lat) && Number.isFinite(fix.lon)).toBe(true)
  }
}

function mutateBytes (seed: Buffer, random: () => number): Buffer {
  const bytes = Buffer.from(seed)
  const kind = Math.floor(random() * 4)
  if (kind === 0) return bytes.subarray(0, Math.floor(random() * bytes.length))
  const edits = 1 + Math.floor(random() * 4)
  for (let n = 0; n < edits; n++) {
    const at = Math.floor(random() * bytes.length)
    if (kind === 1) bytes[at] = Math.floor(random() * 256)
    else if (kind === 2) bytes[at] = '{}[],:"-0123456789.eE '.charCodeAt(Math.floor(random() * 22))
    else bytes[at] = bytes[Math.floor(random() * bytes.length)] ?? 0
  }
  return bytes
}

/** A small seeded PRNG, so a failing case can be replayed. */
function mulberry32 (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
