import { describe, expect, it } from 'vitest'
import type { Fix, Scan } from '../../proto/types.js'
import { checkFix, checkScan, type ValidationLimits } from '../../server/pipeline/stages/validate.js'

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

  it('refuses a scan time outside the window', () => {
    expect(reasonOf(checkScan(scan({ time: NOW + 6 * MINUTE }), limits))).toBe('time_in_future')
    expect(reasonOf(checkScan(scan({ time: NOW - 31 * DAY }), limits))).toBe('time_too_old')
    expect(reasonOf(checkScan(scan({ time: Number.NaN }), limits))).toBe('time_too_old')
  })

  it('checks the EPC before the time', () => {
    expect(reasonOf(checkScan(scan({ epc: 'AB', time: Number.NaN }), limits))).toBe('bad_epc')
  })
})
