import { expect } from 'vitest'
import type { DecodedBatch } from '../../gateway/decoders/format.js'
import type { Fix, Scan } from '../../proto/types.js'

const OPTIONAL_NUMBERS = ['speed', 'heading', 'accuracy', 'altitude', 'battery', 'seq'] as const

/**
 * What every decoder guarantees for each fix it lets through, whatever the format and however
 * mangled the payload (as Traccar's decoder tests verify every position): a device, and a time and
 * a place that are real numbers, never NaN, a string or an absent field; each optional value a real
 * number or absent. Ranges (0,0, lat 91, a time in the future) are the validate stage's to refuse,
 * with the reason, so the refusal is counted and kept: decoders pass values on as sent.
 */
export function expectSaneFix (fix: Fix): void {
  const where = `fix ${JSON.stringify(fix)}`
  expect(typeof fix.deviceId === 'string' && fix.deviceId.trim() !== '', `${where}: a device id`).toBe(true)
  for (const field of ['time', 'lat', 'lon'] as const) {
    expect(typeof fix[field] === 'number' && Number.isFinite(fix[field]), `${where}: ${field} is a finite number`).toBe(true)
  }
  for (const field of OPTIONAL_NUMBERS) {
    const value = fix[field]
    expect(value === undefined || (typeof value === 'number' && Number.isFinite(value)), `${where}: ${field} is a finite number or absent`).toBe(true)
  }
}

export function expectSaneScan (scan: Scan): void {
  const where = `scan ${JSON.stringify(scan)}`
  expect(typeof scan.readerId === 'string' && scan.readerId.trim() !== '', `${where}: a reader id`).toBe(true)
  expect(typeof scan.epc === 'string' && scan.epc === scan.epc.toUpperCase(), `${where}: the EPC as a string, in upper case`).toBe(true)
  expect(typeof scan.time === 'number' && Number.isFinite(scan.time), `${where}: time is a finite number`).toBe(true)
  expect(Number.isFinite(scan.antenna), `${where}: antenna is a finite number`).toBe(true)
  expect(scan.rssi === undefined || Number.isFinite(scan.rssi), `${where}: rssi is a finite number or absent`).toBe(true)
}

/** The decoder, with every fix and scan it returns held to the shared sanity check. */
export function sane<A extends unknown[], B extends Pick<DecodedBatch, 'fixes' | 'scans'>> (decoder: (...args: A) => B): (...args: A) => B {
  return (...args) => {
    const batch = decoder(...args)
    for (const fix of batch.fixes) expectSaneFix(fix)
    for (const scan of batch.scans) expectSaneScan(scan)
    return batch
  }
}
