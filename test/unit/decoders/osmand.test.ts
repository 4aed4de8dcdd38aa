import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { DecodeContext, DecodedBatch } from '../../../gateway/decoders/format.js'
import { decodeOsmAndJson as decodeOsmAndJsonUnchecked, decodeOsmAndQuery as decodeOsmAndQueryUnchecked } from '../../../gateway/decoders/osmand.js'
import { REJECT_REASONS } from '../../../gateway/rejects.js'
import type { Fix } from '../../../proto/types.js'
import { checkFix, type ValidationLimits } from '../../../server/pipeline/stages/validate.js'
import { sane } from '../../support/sane.js'

/** Every fix and scan it returns passes the decoders' shared sanity check. */
const decodeOsmAndJson = sane(decodeOsmAndJsonUnchecked)
const decodeOsmAndQuery = sane(decodeOsmAndQueryUnchecked)

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/osmand')
const KNOT = 1852 / 3600
// the latest capture is from 2025-06-15
const NOW = Date.UTC(2026, 5, 1)
const RECEIVED = Date.UTC(2026, 4, 20, 12, 0, 0)
const limits: ValidationLimits = { now: () => NOW, maxFutureMs: 300_000, maxAgeMs: 100 * 365 * 86_400_000 }
// OsmAnd has no transport identity: the id comes from the payload
const CONTEXT: DecodeContext = { deviceId: '', topic: null, receivedAt: RECEIVED }

/** The part after '?' of a request target stored as a full URL or as path and query. */
function queryOf (name: string): Buffer {
  const target = readFileSync(path.join(FIXTURES, name), 'utf8')
  return Buffer.from(target.slice(target.indexOf('?') + 1))
}

function query (name: string): DecodedBatch {
  return decodeOsmAndQuery(queryOf(name), CONTEXT)
}

function json (name: string): DecodedBatch {
  return decodeOsmAndJson(readFileSync(path.join(FIXTURES, name)), CONTEXT)
}

function onlyFix (batch: DecodedBatch): Fix {
  expect(batch.rejects).toEqual([])
  expect(batch.fixes).toHaveLength(1)
  const fix = batch.fixes[0]
  if (fix === undefined) throw new Error('no fix')
  return fix
}

/** The fix, which the pipeline's sanity check must also accept. */
function goodFix (batch: DecodedBatch): Fix {
  const fix = onlyFix(batch)
  expect(checkFix(fix, limits)).toBeUndefined()
  return fix
}

describe('OsmAnd query: Traccar Client URLs (full URLs, the test takes the query)', () => {
  const zeros = { deviceId: '123456789012345', time: 0, lat: 0, lon: 0, speed: 0, heading: 0, altitude: 0, accuracy: 0, battery: 0 }

  it.each(['client-formatter-default.txt', 'client-formatter-custom-port-path.txt', 'client-formatter-alarm.txt'])(
    '%s: all zeros decode as sent (timestamp 0 is 1970, not "now"), and the pipeline refuses 0,0', (name) => {
      const fix = onlyFix(query(name))
      expect(fix).toEqual(zeros)
      expect(checkFix(fix, limits)?.reason).toBe('bad_coordinates')
    })
})

describe('OsmAnd query: Traccar decoder test requests', () => {
  it('cell and Wi-Fi only, no coordinates: no_position', () => {
    expect(query('query-cell-wifi-no-coords.txt')).toEqual({
      fixes: [], scans: [], events: [], driverEvents: [], rejects: [{ reason: 'no_position', detail: 'no lat/lon or location parameter (only cell towers or Wi-Fi)' }]
    })
  })

  it('no id or deviceid: missing_device_id', () => {
    expect(query('query-missing-id.txt').rejects).toEqual([{ reason: 'missing_device_id', detail: 'no id or deviceid parameter' }])
  })

  it('ISO timestamp with %3A colons; hdop is not an accuracy', () => {
    expect(goodFix(query('query-iso-timestamp.txt'))).toEqual({
      deviceId: '902064', time: Date.UTC(2016, 0, 27, 18, 55, 47), lat: 42.06288, lon: -88.23412, speed: 0, altitude: 224
    })
  })

  it('a 13-digit timestamp is milliseconds', () => {
    expect(goodFix(query('query-millisecond-timestamp.txt'))).toEqual({
      deviceId: '902064', time: 1442068686579, lat: 42.06288, lon: -88.23412, speed: 0, altitude: 224
    })
  })

  it('yyyy-MM-dd+HH%3Amm%3Ass without a zone is read as UTC; id last', () => {
    expect(goodFix(query('query-local-datetime-timestamp.txt'))).toEqual({
      deviceId: '353861053849681', time: Date.UTC(2014, 5, 4, 9, 10, 11), lat: 49.60688, lon: 6.15788, speed: 0, altitude: 384.7
    })
  })

  it('bearing, integer altitude, hdop ignored', () => {
    expect(goodFix(query('query-bearing-hdop.txt'))).toEqual({
      deviceId: '123456', time: 1377177267000, lat: 60, lon: 30, speed: 0, heading: 0, altitude: 0
    })
  })

  it('minimal: id, timestamp, lat, lon', () => {
    expect(goodFix(query('query-minimal.txt'))).toEqual({ deviceId: '123456', time: 1377177267000, lat: 60, lon: 30 })
  })

  it('deviceid and heading, hacc as accuracy, no timestamp so the receive time', () => {
    expect(goodFix(query('query-deviceid-heading-no-timestamp.txt'))).toEqual({
      deviceId: '123456', time: RECEIVED, lat: 60, lon: 30, speed: 0, heading: 0, altitude: 0, accuracy: 0
    })
  })

  it('no timestamp, speed with 6 decimals, batt in percent', () => {
    expect(goodFix(query('query-no-timestamp-batt.txt'))).toEqual({
      deviceId: '861001000719969', time: RECEIVED, lat: 41.666667, lon: -0.883333, speed: 0, altitude: 350.059479, battery: 87
    })
  })

  it('location=lat,lon', () => {
    expect(goodFix(query('query-location-param.txt'))).toEqual({ deviceId: '123456', time: 1377177267000, lat: 60, lon: 30 })
  })

  it('speed=40 is knots; ignition, rpm and fuel are ignored', () => {
    expect(goodFix(query('query-extra-attributes.txt'))).toEqual({
      deviceId: '123456789012345', time: 1504763810000, lat: 40.7232948571, lon: -74.0061408571, speed: 40 * KNOT, heading: 7.19889788244
    })
    expect(40 * KNOT).toBeCloseTo(20.5778, 4)
  })
})

describe('OsmAnd JSON: Traccar Client 8 bodies', () => {
  const motionchange = {
    deviceId: '48241179', time: Date.UTC(2025, 5, 15, 13, 45, 12, 862), lat: 37.4219983, lon: -122.084, speed: 0, accuracy: 5, altitude: 5, battery: 100
  }

  it('motionchange: heading -1 is unknown and left out; level 1 is 100 %; the "_" query copy is ignored', () => {
    expect(goodFix(json('json-motionchange.json'))).toEqual(motionchange)
  })

  it('typed extras are ignored', () => {
    expect(goodFix(json('json-motionchange-typed-extras.json'))).toEqual(motionchange)
  })

  it('iOS simulator: speed, heading and battery -1 are left out, and so is the altitude its altitude_accuracy -1 marks invalid; mock positions are kept', () => {
    expect(goodFix(json('json-ios-simulator-unknowns.json'))).toEqual({
      deviceId: '658765', time: Date.UTC(2025, 4, 9, 4, 11, 30, 579), lat: 37.785834, lon: -122.406417, accuracy: 5
    })
  })

  it('speed 18.67 m/s stays as reported although the activity is "still"; level 0.79 is 79 %', () => {
    expect(goodFix(json('json-speed-while-still.json'))).toEqual({
      deviceId: '8737767034', time: Date.UTC(2021, 6, 21, 8, 6, 34, 444), lat: -6.1148096, lon: 106.6837015, speed: 18.67, heading: 63, accuracy: 3.8, altitude: 35.7, battery: 79
    })
  })
})

describe('OsmAnd query: rules', () => {
  const fixOf = (q: string): Fix | undefined => decodeOsmAndQuery(Buffer.from(q), CONTEXT).fixes[0]
  const reasonsOf = (q: string): string[] => decodeOsmAndQuery(Buffer.from(q), CONTEXT).rejects.map((r) => r.reason)

  it('timestamps below 2147483647 are seconds, from it up milliseconds', () => {
    expect(fixOf('id=1&lat=1&lon=2&timestamp=2147483646')?.time).toBe(2147483646000)
    expect(fixOf('id=1&lat=1&lon=2&timestamp=2147483647')?.time).toBe(2147483647)
  })

  it('reads ISO offsets, ISO without a zone as UTC, and refuses impossible dates', () => {
    expect(fixOf('id=1&lat=1&lon=2&timestamp=2016-01-27T20:55:47%2B02:00')?.time).toBe(Date.UTC(2016, 0, 27, 18, 55, 47))
    expect(fixOf('id=1&lat=1&lon=2&timestamp=2016-01-27T18:55:47.5')?.time).toBe(Date.UTC(2016, 0, 27, 18, 55, 47, 500))
    expect(reasonsOf('id=1&lat=1&lon=2&timestamp=2014-02-30+10:00:00')).toEqual(['invalid_fix'])
    expect(reasonsOf('id=1&lat=1&lon=2&timestamp=yesterday')).toEqual(['invalid_fix'])
  })

  it('half a position or a non-number is invalid_fix', () => {
    expect(reasonsOf('id=1&lat=1&timestamp=1377177267')).toEqual(['invalid_fix'])
    expect(reasonsOf('id=1&location=60.0&timestamp=1377177267')).toEqual(['invalid_fix'])
    expect(reasonsOf('id=1&lat=1&lon=2&speed=fast')).toEqual(['invalid_fix'])
    expect(reasonsOf('id=1&lat=0x10&lon=2')).toEqual(['invalid_fix'])
  })

  it('valid=false is no_position; valid=true and valid=1 are fixes', () => {
    expect(reasonsOf('id=1&lat=1&lon=2&valid=false')).toEqual(['no_position'])
    expect(fixOf('id=1&lat=1&lon=2&valid=true')?.lat).toBe(1)
    expect(fixOf('id=1&lat=1&lon=2&valid=1')?.lat).toBe(1)
  })

  it('an empty id is missing; a repeated parameter takes its first value, as the ingest route does for the id', () => {
    expect(reasonsOf('id=&lat=1&lon=2')).toEqual(['missing_device_id'])
    expect(fixOf('id=a&id=b&lat=1&lat=3&lon=2')).toMatchObject({ deviceId: 'a', lat: 1 })
  })

  it('a form body with a trailing newline decodes the same as the query', () => {
    expect(fixOf('id=123456&timestamp=1377177267&lat=60.0&lon=30.0\r\n')).toEqual({ deviceId: '123456', time: 1377177267000, lat: 60, lon: 30 })
  })
})

describe('OsmAnd JSON: rules', () => {
  const decode = (body: unknown): DecodedBatch => decodeOsmAndJson(Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), CONTEXT)
  const location = { timestamp: '2025-06-15T13:45:12.862Z', coords: { latitude: 1, longitude: 2 } }

  it('not JSON is malformed_json; no device_id is missing_device_id; no location is no_position', () => {
    expect(decode('{"location":').rejects.map((r) => r.reason)).toEqual(['malformed_json'])
    expect(decode({ location }).rejects.map((r) => r.reason)).toEqual(['missing_device_id'])
    expect(decode({ device_id: 'x' }).rejects.map((r) => r.reason)).toEqual(['no_position'])
  })

  it('a numeric device_id becomes a string', () => {
    expect(decode({ device_id: 42, location }).fixes[0]?.deviceId).toBe('42')
  })

  it('decodes a batch-sync array of locations, refusing the broken one', () => {
    const batch = decode({ device_id: 'x', location: [location, { coords: { latitude: '1', longitude: 2 } }, location] })
    expect(batch.fixes).toHaveLength(2)
    expect(batch.rejects).toEqual([{ reason: 'invalid_fix', detail: 'location 1: coords.latitude and coords.longitude must be numbers' }])
  })

  it('a bad timestamp is invalid_fix; a missing one is the receive time', () => {
    expect(decode({ device_id: 'x', location: { ...location, timestamp: 'soon' } }).rejects.map((r) => r.reason)).toEqual(['invalid_fix'])
    expect(decode({ device_id: 'x', location: { coords: location.coords } }).fixes[0]?.time).toBe(RECEIVED)
  })
})

describe('OsmAnd: fuzz', () => {
  const queries = ['query-extra-attributes.txt', 'query-iso-timestamp.txt', 'query-cell-wifi-no-coords.txt', 'client-formatter-alarm.txt'].map(queryOf)
  const bodies = ['json-speed-while-still.json', 'json-ios-simulator-unknowns.json'].map((name) => readFileSync(path.join(FIXTURES, name)))

  it('never throws on mutated queries or bodies', () => {
    const random = mulberry32(0x05a4)
    for (let i = 0; i < 3000; i++) {
      expectBatch(decodeOsmAndQuery(mutate(queries[i % queries.length] ?? Buffer.alloc(0), random, '&=%,.-+:0123456789TZ'), CONTEXT))
      expectBatch(decodeOsmAndJson(mutate(bodies[i % bodies.length] ?? Buffer.alloc(0), random, '{}[],:"-0123456789.eE'), CONTEXT))
    }
  })
})

function expectBatch (batch: DecodedBatch): void {
  for (const reject of batch.rejects) {
    expect(Object.keys(REJECT_REASONS)).toContain(reject.reason)
    // details end up in a PostgreSQL text column, which refuses NUL
    expect(reject.detail).not.toMatch(/[\u0000-\u001f]/)
  }
  for (const fix of batch.fixes) {
    expect(fix.deviceId).not.toBe('')
    expect(Number.isFinite(fix.time) && Number.isFinite(fix.lat) && Number.isFinite(fix.lon)).toBe(true)
  }
}

function mutate (seed: Buffer, random: () => number, alphabet: string): Buffer {
  const bytes = Buffer.from(seed)
  const kind = Math.floor(random() * 4)
  if (kind === 0) return bytes.subarray(0, Math.floor(random() * bytes.length))
  const edits = 1 + Math.floor(random() * 4)
  for (let n = 0; n < edits; n++) {
    const at = Math.floor(random() * bytes.length)
    if (kind === 1) bytes[at] = Math.floor(random() * 256)
    else if (kind === 2) bytes[at] = alphabet.charCodeAt(Math.floor(random() * alphabet.length))
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
