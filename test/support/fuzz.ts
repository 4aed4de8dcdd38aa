import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import type { DeviceFormat } from '../../gateway/decoders/format.js'
import { encodeFixBatch, encodeScanBatch } from '../../proto/codec.js'
import type { Channel } from '../../proto/topics.js'

/**
 * Payload generators for property tests of ingest: every value PostgreSQL or JavaScript could
 * choke on (NUL, unpaired surrogates, numbers past a column's range or past what a Date holds),
 * in the shapes each format's decoder reads, plus real fixtures with their leaves replaced.
 */

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url))

/** Strings a device could send that must be refused or stored exactly. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom('', '\u0000', 'dock\u0000door', '\ud800', 'x\udfffy', '\udbff\udbff', '\uffff', '📦', '   ', 'NaN', '-1',
    '2026-13-45T99:99:99Z', '9999-12-31T23:59:59Z', '+275760-09-13T00:00:00Z', '0000-01-01T00:00:00Z', '2026-11-23T03:00:00',
    'E2801190A5021F80055817CA', 'e28011', 'ZZZZ', 'null', '{"a":1}'),
  fc.tuple(fc.string({ unit: 'binary', maxLength: 8 }), fc.constantFrom('\u0000', '\ud800', '\udc00'), fc.string({ maxLength: 8 }))
    .map(([a, b, c]) => a + b + c)
)

/** Numbers at and past every edge the columns and the validation have. JSON carries no NaN. */
export const nastyNumber: fc.Arbitrary<number> = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.constantFrom(0, -0, -1, 1.5, 0.1, 90, 90.0000001, -180.5, 180, 350, 350.5, 360, 361, 1e6, 1e308, -1e308, 5e-324,
    2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 2 ** 63, 2 ** 64, 8.64e15, 8.64e15 + 1, -8.64e15 - 1, 1e21, 65535, 65536, -151, 31, 4.9e-324),
  // the last few years to a few days ahead, in milliseconds: times that pass validation
  fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2026, 11, 31) })
)

export const nastyLeaf: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: nastyString },
  { weight: 3, arbitrary: nastyNumber },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constantFrom({}, [], [1, 2], { port: 1 }) }
)

/** A JSON value: an object with nasty keys and leaves, nested a little. */
export const nastyJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, nastyLeaf, tie('object'), tie('array')),
  object: fc.dictionary(fc.oneof(nastyString, fc.constantFrom('lat', 'lon', 'time', 'epc', 'data', 'type', '_type')), tie('value'), { maxKeys: 5 }),
  array: fc.array(tie('value'), { maxLength: 4 })
})).value

/** Every leaf of a JSON value, by path. */
function leafPaths (value: unknown, path: Array<string | number> = []): Array<Array<string | number>> {
  if (Array.isArray(value)) return value.flatMap((child, index) => leafPaths(child, [...path, index]))
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([key, child]) => leafPaths(child, [...path, key]))
  return [path]
}

function replaced (value: unknown, path: Array<string | number>, leaf: unknown): unknown {
  if (path.length === 0) return leaf
  const [head, ...rest] = path as [string | number, ...Array<string | number>]
  if (Array.isArray(value)) return value.map((child, index) => index === head ? replaced(child, rest, leaf) : child)
  const object = value as Record<string, unknown>
  return { ...object, [head]: replaced(object[head], rest, leaf) }
}

/** A real or documented payload with up to three of its leaves replaced by nasty ones (none: the seed itself). */
export function mutated (seed: unknown): fc.Arbitrary<unknown> {
  const paths = leafPaths(seed)
  if (paths.length === 0) return fc.constant(seed)
  return fc.array(fc.tuple(fc.nat({ max: paths.length - 1 }), nastyLeaf), { minLength: 0, maxLength: 3 })
    .map((changes) => changes.reduce((value, [index, leaf]) => replaced(value, paths[index] ?? [], leaf), seed))
}

/** The JSON fixtures of a format, parsed. */
export function jsonSeeds (folder: string): unknown[] {
  return readdirSync(`${FIXTURES}${folder}`, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.json') && !name.includes('LICENSE'))
    .flatMap((name) => {
      try {
        return [JSON.parse(readFileSync(`${FIXTURES}${folder}/${name}`, 'utf8')) as unknown]
      } catch {
        return []
      }
    })
}

/** Mostly a plausible value, sometimes a nasty one: so payloads get past the first check and meet the later ones. */
const mostly = <T, U>(plausible: fc.Arbitrary<T>, nasty: fc.Arbitrary<U>): fc.Arbitrary<T | U> =>
  fc.oneof({ weight: 5, arbitrary: plausible }, { weight: 1, arbitrary: nasty })
const optional = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arbitrary, { nil: undefined })
const recent = fc.integer({ min: Date.UTC(2026, 10, 1), max: Date.UTC(2026, 10, 23, 3) })
const time = mostly(fc.oneof(recent, recent.map((ms) => new Date(ms).toISOString())), fc.oneof(nastyNumber, nastyString))
const within = (min: number, max: number): fc.Arbitrary<number> => mostly(fc.double({ min, max, noNaN: true }), nastyNumber)
const text = mostly(fc.string({ unit: 'grapheme', maxLength: 40 }), nastyString)

const trackstreamFix = fc.record({
  time, lat: within(-90, 90), lon: within(-180, 180), speed: optional(within(0, 350)), heading: optional(within(0, 360)), accuracy: optional(within(0, 500)),
  altitude: optional(within(-100, 5000)), battery: optional(within(0, 100)), seq: optional(mostly(fc.nat(), nastyNumber)), deviceId: optional(mostly(fc.constant('fuzz-1'), nastyString))
}, { requiredKeys: ['time', 'lat', 'lon'] })

const trackstreamScan = fc.record({
  time,
  epc: mostly(fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: 2, maxLength: 12 }).map((half) => half + half), nastyString),
  antenna: optional(mostly(fc.integer({ min: 0, max: 8 }), nastyNumber)),
  rssi: optional(within(-90, -20)),
  readerId: optional(mostly(fc.constant('fuzz-1'), nastyString))
}, { requiredKeys: ['time', 'epc'] })

const driverEvent = fc.record({
  type: mostly(fc.constantFrom('delivered', 'attempt_failed', 'cod_collected'), nastyString),
  parcel: mostly(fc.constantFrom('TS-FUZZ-1', 'TS-FUZZ-2'), nastyString),
  time, lat: optional(within(-90, 90)), lon: optional(within(-180, 180)),
  reason: optional(mostly(fc.constantFrom('recipient_not_available', 'other'), nastyString)),
  proof: optional(fc.record({ kind: fc.constantFrom('photo', 'signature', 'pin'), ref: text })),
  cod: optional(fc.record({ amount: mostly(fc.constantFrom('25.00', '450', '0.5'), nastyString), currency: mostly(fc.constant('THB'), nastyString) })),
  recipient: optional(text),
  note: optional(text)
}, { requiredKeys: ['type', 'parcel', 'time'] })

/** Repeated ones, batches and wrappers, as the formats allow. */
const batchOf = <T>(item: fc.Arbitrary<T>, key: string): fc.Arbitrary<unknown> =>
  fc.oneof(item, fc.array(item, { maxLength: 4 }), fc.array(item, { maxLength: 4 }).map((items) => ({ [key]: items })))

/** An RMC sentence of a plausible fix today, or noise in the shape of one, with a right checksum mostly. */
const rmcFields = fc.tuple(
  // before 03:00 UTC on 23 November 2026, the tests' now
  fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 })).map(([h, m, sec]) => h * 10000 + m * 100 + sec),
  mostly(fc.constant('A'), fc.constant('V')),
  mostly(fc.integer({ min: 100, max: 8900 }).map((n) => n / 100), nastyNumber), fc.constantFrom('N', 'S'),
  mostly(fc.integer({ min: 100, max: 17900 }).map((n) => n / 100), nastyNumber), fc.constantFrom('E', 'W'),
  within(0, 60), within(0, 359)
).map(([hms, status, lat, ns, lon, ew, knots, course]) => [
  String(hms).padStart(6, '0') + '.00', status, (Math.trunc(lat) * 100 + (lat % 1) * 60).toFixed(4), ns,
  (Math.trunc(lon) * 100 + (lon % 1) * 60).toFixed(4).padStart(10, '0'), ew, knots.toFixed(1), course.toFixed(1), '231126', '', '', 'A'
])
const nmeaSentence = fc.tuple(
  mostly(fc.constantFrom('GPRMC', 'GNRMC'), fc.constantFrom('GPGGA', 'GPGSV', 'XXYYZ')),
  mostly(rmcFields, fc.array(fc.oneof(fc.stringMatching(/^[0-9.]{0,10}$/), fc.constantFrom('A', 'V', 'N', 'S', 'E', 'W', ''), nastyString), { maxLength: 12 })),
  mostly(fc.constant(true), fc.constant(false))
).map(([talker, fields, goodChecksum]) => {
  const body = `${talker},${fields.join(',')}`
  let sum = 0
  for (const char of body) sum ^= char.charCodeAt(0) & 0xff
  return `$${body}*${(goodChecksum ? sum : (sum + 1) & 0xff).toString(16).toUpperCase().padStart(2, '0')}`
})

const asJson = (value: unknown): Buffer => Buffer.from(JSON.stringify(value) ?? 'null')

/** Messages that become device events, with text a person or a reader typed in them. */
const eventMessages: Partial<Record<DeviceFormat, fc.Arbitrary<unknown>>> = {
  owntracks: fc.record({ _type: fc.constant('transition'), event: fc.constantFrom('enter', 'leave'), desc: text, tid: text, lat: within(-90, 90), lon: within(-180, 180), tst: fc.integer({ min: 1793000000, max: 1795000000 }), wtst: fc.constant(1700000000), acc: within(0, 100), t: fc.constant('c') }),
  impinj: fc.record({ timestamp: time, hostname: text, inventoryStatusEvent: fc.record({ status: text }) }),
  zebra: fc.record({ type: fc.constantFrom('error', 'warning', 'userapp', 'heartbeat'), timestamp: time, component: text, data: fc.record({ message: text, event: text, radio_control: fc.record({ status: text, uptime: text, antennas: fc.dictionary(fc.constantFrom('1', '2', '3'), text) }) }) })
}

/** A payload for a format and channel: shaped, mutated from fixtures, or plain noise. */
export function payloadFor (format: DeviceFormat, channel: Channel): fc.Arbitrary<Buffer> {
  const noise = fc.oneof(fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)), nastyJson.map(asJson))
  if (channel === 'driver') return fc.oneof({ weight: 4, arbitrary: batchOf(driverEvent, 'events').map(asJson) }, { weight: 1, arbitrary: noise })
  const seeds = (folder: string): fc.Arbitrary<Buffer> => fc.oneof(...jsonSeeds(folder).map((seed) => mutated(seed).map(asJson)))
  let shaped: fc.Arbitrary<Buffer>
  switch (format) {
    case 'trackstream':
      shaped = channel === 'fix'
        ? fc.oneof(batchOf(trackstreamFix, 'fixes').map(asJson), fc.array(trackstreamFix, { minLength: 1, maxLength: 3 }).map((fixes) =>
          Buffer.from(encodeFixBatch(fixes.map((f) => ({ ...f, time: typeof f.time === 'number' ? f.time : 0, lat: f.lat ?? 0, lon: f.lon ?? 0, deviceId: undefined, seq: f.seq === undefined ? undefined : Math.abs(Math.trunc(f.seq)) % 2 ** 32 }))))))
        : fc.oneof(batchOf(trackstreamScan, 'scans').map(asJson), fc.array(trackstreamScan, { minLength: 1, maxLength: 3 }).map((scans) =>
          Buffer.from(encodeScanBatch(scans.map((s) => ({ time: typeof s.time === 'number' ? s.time : 0, epc: s.epc ?? '', antenna: Math.abs(Math.trunc(s.antenna ?? 0)) % 2 ** 32, rssi: s.rssi }))))))
      break
    case 'nmea':
      shaped = fc.array(nmeaSentence, { minLength: 1, maxLength: 4 }).map((lines) => Buffer.from(lines.join('\r\n')))
      break
    case 'owntracks':
    case 'impinj':
    case 'zebra':
      shaped = fc.oneof(seeds(format), (eventMessages[format] as fc.Arbitrary<unknown>).map(asJson))
      break
    case 'osmand':
    case 'ttn':
    case 'chirpstack':
      shaped = seeds(format)
      break
  }
  return fc.oneof({ weight: 4, arbitrary: shaped }, { weight: 1, arbitrary: noise })
}

/** Independent of the server's own checks: what PostgreSQL text and jsonb can hold as it was sent. */
export function storable (text: string): boolean {
  // an unpaired surrogate does not survive a round trip through UTF-8: it comes back as U+FFFD
  return !text.includes('\u0000') && Buffer.from(text, 'utf8').toString('utf8') === text
}

/** Every string in a JSON value, keys included. */
export function stringsIn (value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (Array.isArray(value)) return value.flatMap(stringsIn)
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([key, child]) => [key, ...stringsIn(child)])
  return []
}
