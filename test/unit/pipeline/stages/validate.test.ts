import { describe, expect, it } from 'vitest'
import type { DeviceEvent } from '../../../../gateway/decoders/format.js'
import type { DriverEvent, Fix, Scan } from '../../../../proto/types.js'
import { checkDriverEvent, checkEvent, checkFix, checkScan, type ValidationLimits } from '../../../../server/pipeline/stages/validate.js'

const NOW = Date.UTC(2026, 10, 23, 3, 0, 0)
const MINUTE = 60_000
const DAY = 86_400_000
const limits: ValidationLimits = { now: () => NOW, maxFutureMs: 300_000, maxAgeMs: 30 * DAY }

function fix (overrides: Partial<Fix> = {}): Fix {
  return { deviceId: 'van-1', time: NOW - 1000, lat: 13.7563, lon: 100.5018, ...overrides }
}

function scan (overrides: Partial<Scan> = {}): Scan {
  return { readerId: 'dock-1', antenna: 1, epc: '3034257BF7194E4000001A85', time: NOW - 1000, ...overrides }
}

function reasonOf (rejection: { reason: string } | undefined): string | undefined {
  return rejection?.reason
}

describe('checkFix', () => {
  it('passes a plausible fix with every optional field set', () => {
    expect(checkFix(fix({ speed: 12, heading: 359.9, accuracy: 5, altitude: 20, battery: 100 }), limits)).toBeUndefined()
  })

  it('passes a fix with no optional fields', () => {
    expect(checkFix(fix(), limits)).toBeUndefined()
  })

  it.each([
    ['lat 91', { lat: 91 }],
    ['lat -90.0001', { lat: -90.0001 }],
    ['lon -181', { lon: -181 }],
    ['lon 180.5', { lon: 180.5 }],
    ['lat NaN', { lat: Number.NaN }],
    ['lon Infinity', { lon: Number.POSITIVE_INFINITY }]
  ])('refuses %s as bad_coordinates', (_what, overrides) => {
    expect(reasonOf(checkFix(fix(overrides), limits))).toBe('bad_coordinates')
  })

  it('refuses exactly 0,0 as bad_coordinates, naming the no-fix case', () => {
    expect(checkFix(fix({ lat: 0, lon: 0 }), limits)).toEqual({
      reason: 'bad_coordinates',
      detail: 'lat 0, lon 0 is what receivers send when they have no fix'
    })
  })

  it.each([
    ['0,5', { lat: 0, lon: 5 }],
    ['5,0', { lat: 5, lon: 0 }],
    ['the poles and the antimeridian', { lat: 90, lon: -180 }],
    ['the other corner', { lat: -90, lon: 180 }]
  ])('passes %s', (_what, overrides) => {
    expect(checkFix(fix(overrides), limits)).toBeUndefined()
  })

  it('refuses a time 6 minutes ahead of the clock as time_in_future', () => {
    expect(checkFix(fix({ time: NOW + 6 * MINUTE }), limits)).toEqual({
      reason: 'time_in_future',
      detail: '2026-11-23T03:06:00.000Z is 360 s ahead of the server clock'
    })
  })

  it('passes a time 4 minutes ahead, and exactly the allowed 5 minutes ahead', () => {
    expect(checkFix(fix({ time: NOW + 4 * MINUTE }), limits)).toBeUndefined()
    expect(checkFix(fix({ time: NOW + 5 * MINUTE }), limits)).toBeUndefined()
    expect(reasonOf(checkFix(fix({ time: NOW + 5 * MINUTE + 1 }), limits))).toBe('time_in_future')
  })

  it('refuses a time 31 days old as time_too_old, and passes 29 days old', () => {
    expect(checkFix(fix({ time: NOW - 31 * DAY }), limits)).toEqual({
      reason: 'time_too_old',
      detail: '2026-10-23T03:00:00.000Z is older than the 30-day window'
    })
    expect(checkFix(fix({ time: NOW - 29 * DAY }), limits)).toBeUndefined()
  })

  it('refuses a NaN time as time_too_old', () => {
    expect(checkFix(fix({ time: Number.NaN }), limits)).toEqual({ reason: 'time_too_old', detail: 'the timestamp is missing or not a date' })
  })

  it('reads the clock on every call', () => {
    let now = NOW
    const moving: ValidationLimits = { ...limits, now: () => now }
    const f = fix({ time: NOW + 6 * MINUTE })
    expect(reasonOf(checkFix(f, moving))).toBe('time_in_future')
    now = NOW + 2 * MINUTE
    expect(checkFix(f, moving)).toBeUndefined()
  })

  it.each([-1, 351, Number.NaN])('refuses speed %d as implausible_speed', (speed) => {
    expect(reasonOf(checkFix(fix({ speed }), limits))).toBe('implausible_speed')
  })

  it.each([0, 350])('passes speed %d', (speed) => {
    expect(checkFix(fix({ speed }), limits)).toBeUndefined()
  })

  it('refuses heading 361 as bad_value naming the field and range', () => {
    expect(checkFix(fix({ heading: 361 }), limits)).toEqual({ reason: 'bad_value', detail: 'heading 361 is outside 0..360' })
  })

  it('refuses battery 101 as bad_value naming the field and range', () => {
    expect(checkFix(fix({ battery: 101 }), limits)).toEqual({ reason: 'bad_value', detail: 'battery 101 is outside 0..100' })
  })

  it.each([
    ['heading -1', { heading: -1 }],
    ['accuracy -0.5', { accuracy: -0.5 }],
    ['altitude -1001', { altitude: -1001 }],
    ['battery NaN', { battery: Number.NaN }]
  ])('refuses %s as bad_value', (_what, overrides) => {
    expect(reasonOf(checkFix(fix(overrides), limits))).toBe('bad_value')
  })

  it.each([
    ['just past it', 8.64e15 + 1],
    ['a time of year 287,168', 9e15],
    ['far before 1970', -9e15],
    ['the largest double', Number.MAX_VALUE]
  ])('refuses %s without throwing', (_what, time) => {
    const found = checkFix(fix({ time }), limits)
    expect(found?.reason).toMatch(/^time_(in_future|too_old)$/)
    expect(found?.detail).toContain(String(time))
  })

  it('names the largest representable time in ISO 8601', () => {
    expect(checkFix(fix({ time: 8.64e15 }), limits)?.detail).toMatch(/^\+275760-09-13T00:00:00.000Z is \d+ s ahead/)
  })

  it.each([
    ['a fraction', 1.5, 'seq 1.5 is not a whole number'],
    ['a negative number', -1, 'seq -1 is outside 0..9007199254740991'],
    ['a number past 2^53', 2 ** 60, `seq ${2 ** 60} is outside 0..9007199254740991`]
  ])('refuses seq as %s: positions.seq is a bigint', (_what, seq, detail) => {
    expect(checkFix(fix({ seq }), limits)).toEqual({ reason: 'bad_value', detail })
  })

  it.each([['speed', { speed: 8e-323 }], ['heading', { heading: 1e-300 }], ['accuracy', { accuracy: 5e-324 }], ['altitude', { altitude: -1e-40 }], ['battery', { battery: 1e-38 }]])(
    'refuses a %s so small that PostgreSQL\'s real refuses it (it rounds to 0 in single precision)', (field, overrides) => {
      const found = checkFix(fix(overrides), limits)
      expect(found?.reason).toBe('bad_value')
      expect(found?.detail).toMatch(new RegExp(`^${field} .* is too small to store`))
    })

  it('passes 0 and 1e-37 in a real column', () => {
    expect(checkFix(fix({ speed: 0, heading: 1e-37, accuracy: 0.001 }), limits)).toBeUndefined()
    expect(checkScan(scan({ rssi: -1e-37 }), limits)).toBeUndefined()
    expect(checkScan(scan({ rssi: -1e-300 }), limits)?.reason).toBe('bad_value')
  })

  it('passes seq 0 and 4294967295', () => {
    expect(checkFix(fix({ seq: 0 }), limits)).toBeUndefined()
    expect(checkFix(fix({ seq: 4294967295 }), limits)).toBeUndefined()
  })

  it('reports coordinates before time when both are wrong', () => {
    expect(reasonOf(checkFix(fix({ lat: 91, time: Number.NaN }), limits))).toBe('bad_coordinates')
  })

  it('reports time before speed when both are wrong', () => {
    expect(reasonOf(checkFix(fix({ time: NOW + DAY, speed: 1000 }), limits))).toBe('time_in_future')
  })
})

describe('checkScan', () => {
  it('passes a plausible scan', () => {
    expect(checkScan(scan({ rssi: -60 }), limits)).toBeUndefined()
  })

  it.each([
    ['an odd number of digits', 'ABC'],
    ['non-hex characters', 'ABCG'],
    ['lower-case hex (decoders upper-case it)', 'abcd'],
    ['only 2 digits', 'AB'],
    ['126 digits', 'A'.repeat(126)],
    ['an empty string', ''],
    ['a space', 'AB CD']
  ])('refuses an EPC with %s as bad_epc', (_what, epc) => {
    expect(reasonOf(checkScan(scan({ epc }), limits))).toBe('bad_epc')
  })

  it.each([
    [4, 'ABCD'],
    [124, '0123456789ABCDEF'.repeat(8).slice(0, 124)]
  ])('passes an EPC of %d digits', (digits, epc) => {
    expect(epc).toHaveLength(digits)
    expect(checkScan(scan({ epc }), limits)).toBeUndefined()
  })

  it('refuses rssi -151 as bad_value', () => {
    expect(checkScan(scan({ rssi: -151 }), limits)).toEqual({ reason: 'bad_value', detail: 'rssi -151 is outside -150..30' })
  })

  it('passes rssi -150 and 30, the ends of the range', () => {
    expect(checkScan(scan({ rssi: -150 }), limits)).toBeUndefined()
    expect(checkScan(scan({ rssi: 30 }), limits)).toBeUndefined()
  })

  it('refuses antenna 70000 as bad_value', () => {
    expect(checkScan(scan({ antenna: 70000 }), limits)).toEqual({ reason: 'bad_value', detail: 'antenna 70000 is outside 0..65535' })
  })

  it('refuses antenna 1.5 as bad_value: rfid_reads.antenna is an integer', () => {
    expect(checkScan(scan({ antenna: 1.5 }), limits)).toEqual({ reason: 'bad_value', detail: 'antenna 1.5 is not a whole number' })
  })

  it('quotes an EPC holding a NUL escaped, so the refusal itself can be stored', () => {
    const found = checkScan(scan({ epc: 'AB\u0000CD' }), limits)
    expect(found?.reason).toBe('bad_epc')
    expect(found?.detail).not.toContain('\u0000')
    expect(found?.detail).toContain('AB\\u0000CD')
  })

  it('refuses a scan time outside the window', () => {
    expect(reasonOf(checkScan(scan({ time: NOW + 6 * MINUTE }), limits))).toBe('time_in_future')
    expect(reasonOf(checkScan(scan({ time: NOW - 31 * DAY }), limits))).toBe('time_too_old')
    expect(reasonOf(checkScan(scan({ time: Number.NaN }), limits))).toBe('time_too_old')
  })

  it('checks the EPC before the time', () => {
    expect(reasonOf(checkScan(scan({ epc: 'AB', time: Number.NaN }), limits))).toBe('bad_epc')
  })
})

describe('checkEvent', () => {
  const event = (detail: DeviceEvent['detail']): DeviceEvent => ({ deviceId: 'dock-1', time: NOW - 1000, type: 'offline', detail })

  it('passes a detail of storable text', () => {
    expect(checkEvent(event({ region: 'Bangkok hub 曼谷', port: 1, ok: true, none: null }), limits)).toBeUndefined()
  })

  it.each([
    ['a NUL in a value', { region: 'hub\u0000' }, 'detail.region holds a NUL character (U+0000)'],
    ['an unpaired high surrogate', { region: 'hub\ud800' }, 'detail.region holds an unpaired UTF-16 surrogate (not valid Unicode)'],
    ['an unpaired low surrogate', { region: '\udc00hub' }, 'detail.region holds an unpaired UTF-16 surrogate (not valid Unicode)'],
    ['a NUL in a key', { 'a\u0000': 'x' }, 'a key in detail holds a NUL character (U+0000)']
  ])('refuses %s as invalid_text', (_what, detail, message) => {
    expect(checkEvent(event(detail), limits)).toEqual({ reason: 'invalid_text', detail: message })
  })

  it('passes a correctly paired surrogate (an emoji)', () => {
    expect(checkEvent(event({ region: 'hub 📦' }), limits)).toBeUndefined()
  })

  it('checks the time', () => {
    expect(checkEvent({ ...event({}), time: 9e15 }, limits)?.reason).toBe('time_in_future')
  })
})

describe('checkDriverEvent', () => {
  const driven = (overrides: Partial<DriverEvent> = {}): DriverEvent => ({ deviceId: 'phone-1', type: 'delivered', parcel: 'TH123', time: NOW - 1000, ...overrides })

  it('passes an ordinary delivery', () => {
    expect(checkDriverEvent(driven({ recipient: 'คุณสมชาย', note: 'left with the guard', proof: { kind: 'photo', ref: 's3://pod/1.jpg' } }), limits)).toBeUndefined()
  })

  it.each([
    ['note', { note: 'left at door\u0000' }],
    ['recipient', { recipient: '\u0000' }],
    ['proof.ref', { proof: { kind: 'photo' as const, ref: 'x\ud800' } }],
    ['parcel', { parcel: 'TH\u0000' }]
  ])('refuses unstorable text in %s as invalid_text, naming the field', (field, overrides) => {
    const found = checkDriverEvent(driven(overrides), limits)
    expect(found?.reason).toBe('invalid_text')
    expect(found?.detail.startsWith(`${field} holds`)).toBe(true)
  })

  it('refuses a note longer than the API allows', () => {
    expect(checkDriverEvent(driven({ note: 'x'.repeat(1001) }), limits)).toEqual({ reason: 'bad_value', detail: 'note is 1001 characters long; at most 1000' })
  })

  it('refuses coordinates outside WGS84', () => {
    expect(checkDriverEvent(driven({ lat: 95, lon: 10 }), limits)?.reason).toBe('bad_coordinates')
  })

  it('refuses an unrepresentable time without throwing', () => {
    expect(checkDriverEvent(driven({ time: -8.7e15 }), limits)?.reason).toBe('time_too_old')
  })
})
