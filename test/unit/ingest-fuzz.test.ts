import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeAs } from '../../gateway/decoders/index.js'
import { DEVICE_EVENT_TYPES, DEVICE_FORMATS, type DeviceFormat } from '../../gateway/decoders/format.js'
import { REJECT_REASONS } from '../../gateway/rejects.js'
import type { Channel } from '../../proto/topics.js'
import type { DriverEvent, Fix, Scan } from '../../proto/types.js'
import { checkDriverEvent, checkEvent, checkFix, checkScan, type ValidationLimits } from '../../server/pipeline/stages/validate.js'
import { payloadFor, storable, stringsIn } from '../support/fuzz.js'

const NOW = Date.UTC(2026, 10, 23, 3, 0, 0)
const LIMITS: ValidationLimits = { now: () => NOW, maxFutureMs: 300_000, maxAgeMs: 100 * 365 * 86_400_000 }
const RUNS = Number(process.env.FUZZ_RUNS ?? 300)

/** The ranges of the columns each value is stored in, checked here without the server's code. */
function fixStorable (fix: Fix): boolean {
  // PostgreSQL's real: up to 3.4e38 in magnitude, and nothing that rounds to 0 in single precision but 0 itself
  const real = (v: number | undefined): boolean => v === undefined || v === 0 || (Number.isFinite(v) && Math.abs(v) < 3.4e38 && Math.fround(Math.abs(v)) > 0)
  return Math.abs(fix.lat) <= 90 && Math.abs(fix.lon) <= 180 && Number.isFinite(fix.time) &&
    fix.time >= NOW - LIMITS.maxAgeMs && fix.time <= NOW + LIMITS.maxFutureMs &&
    (fix.speed === undefined || (fix.speed >= 0 && fix.speed <= 350)) &&
    (fix.heading === undefined || (fix.heading >= 0 && fix.heading <= 360)) &&
    (fix.battery === undefined || (fix.battery >= 0 && fix.battery <= 100)) &&
    [fix.speed, fix.heading, fix.accuracy, fix.altitude, fix.battery].every(real) &&
    (fix.seq === undefined || (Number.isSafeInteger(fix.seq) && fix.seq >= 0))
}

function scanStorable (scan: Scan): boolean {
  return /^([0-9A-F]{2}){2,62}$/.test(scan.epc) && Number.isInteger(scan.antenna) && scan.antenna >= 0 && scan.antenna <= 65535 &&
    (scan.rssi === undefined || scan.rssi === 0 || (scan.rssi >= -150 && scan.rssi <= 30 && Math.fround(Math.abs(scan.rssi)) > 0)) && Number.isFinite(scan.time)
}

function driverEventStorable (event: DriverEvent): boolean {
  return Number.isFinite(event.time) && stringsIn([event.parcel, event.recipient, event.note, event.proof?.ref].filter((v) => v !== undefined)).every(storable)
}

const CASES: Array<[DeviceFormat, Channel]> = [
  ...DEVICE_FORMATS.map((format): [DeviceFormat, Channel] => [format, format === 'impinj' || format === 'zebra' ? 'scan' : 'fix']),
  ['trackstream', 'scan'],
  ['trackstream', 'driver']
]

describe('every decoder, fed anything', () => {
  it.each(CASES)('%s on the %s channel: never throws, refuses only with a known reason, and what passes validation is storable', (format, channel) => {
    let accepted = 0
    let refused = 0
    fc.assert(fc.property(payloadFor(format, channel), (payload) => {
      // as over HTTP: no topic, so network servers' payloads name their own event and devices
      const batch = decodeAs(format, channel, payload, { deviceId: 'fuzz-1', topic: null, receivedAt: NOW })
      for (const { reason, detail } of batch.rejects) {
        expect(Object.keys(REJECT_REASONS)).toContain(reason)
        expect(typeof detail).toBe('string')
      }
      for (const fix of batch.fixes) if (checkFix(fix, LIMITS) === undefined) expect(fixStorable(fix), JSON.stringify(fix)).toBe(true)
      for (const scan of batch.scans) if (checkScan(scan, LIMITS) === undefined) expect(scanStorable(scan), JSON.stringify(scan)).toBe(true)
      for (const event of batch.events) {
        expect(DEVICE_EVENT_TYPES).toContain(event.type)
        if (checkEvent(event, LIMITS) === undefined) expect(stringsIn(event.detail).every(storable), JSON.stringify(event)).toBe(true)
      }
      for (const event of batch.driverEvents) {
        if (checkDriverEvent(event, LIMITS) === undefined) expect(driverEventStorable(event), JSON.stringify(event)).toBe(true)
      }
      const passed = [...batch.fixes.filter((f) => checkFix(f, LIMITS) === undefined), ...batch.scans.filter((s) => checkScan(s, LIMITS) === undefined),
        ...batch.events.filter((e) => checkEvent(e, LIMITS) === undefined), ...batch.driverEvents.filter((e) => checkDriverEvent(e, LIMITS) === undefined)]
      if (passed.length > 0) accepted++
      if (batch.rejects.length > 0) refused++
    }), { numRuns: RUNS })
    // the property means something only if both sides of it were exercised often
    expect(accepted).toBeGreaterThan(RUNS / 10)
    expect(refused).toBeGreaterThan(RUNS / 10)
  })

  it('refuses each unstorable value it meets with a reason, rather than letting it through', () => {
    // the oracle above would catch a slip; this checks the validators do refuse, for each field
    const fix: Fix = { deviceId: 'fuzz-1', time: NOW - 1000, lat: 13.7, lon: 100.5 }
    fc.assert(fc.property(fc.constantFrom<Partial<Fix>>(
      { seq: 1.5 }, { seq: 2 ** 60 }, { time: 9e15 }, { speed: 1e39 }, { altitude: -1e39 }, { heading: Number.NaN }, { battery: Number.POSITIVE_INFINITY }
    ), (bad) => {
      expect(checkFix({ ...fix, ...bad }, LIMITS)?.reason).toMatch(/^(bad_value|time_in_future|implausible_speed)$/)
    }))
  })
})
