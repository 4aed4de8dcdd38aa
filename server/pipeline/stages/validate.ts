import type { DeviceEvent } from '../../../gateway/decoders/format.js'
import { rejection, type Rejection } from '../../../gateway/rejects.js'
import { findTextProblem, textProblem } from '../../../proto/text.js'
import type { DriverEvent, Fix, Scan } from '../../../proto/types.js'
import type { DriverItem, EventItem, FixItem, ScanItem, Stage } from '../items.js'

export interface ValidationLimits {
  now: () => number
  /** How far ahead of the server clock a device clock may run. */
  maxFutureMs: number
  /** Older data falls outside retention and would be deleted at once. */
  maxAgeMs: number
}

/** Fast enough for any vehicle a parcel rides in, including a cargo aircraft: 1,260 km/h. */
const MAX_SPEED_MPS = 350
const EPC_HEX = /^(?:[0-9A-F]{2}){2,62}$/

export function validateFix (limits: ValidationLimits): Stage<FixItem> {
  return { name: 'validate-fix', run: (item) => checkFix(item.fix, limits) }
}

export function validateScan (limits: ValidationLimits): Stage<ScanItem> {
  return { name: 'validate-scan', run: (item) => checkScan(item.scan, limits) }
}

export function validateEvent (limits: ValidationLimits): Stage<EventItem> {
  return { name: 'validate-event', run: (item) => checkEvent(item.event, limits) }
}

export function validateDriverEvent (limits: ValidationLimits): Stage<DriverItem> {
  return { name: 'validate-driver-event', run: (item) => checkDriverEvent(item.event, limits) }
}

export function checkFix (fix: Fix, limits: ValidationLimits): Rejection | undefined {
  const { lat, lon } = fix
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) {
    return rejection('bad_coordinates', `lat ${lat}, lon ${lon} is outside WGS84 ranges`)
  }
  // receivers with no fix often report exactly 0,0
  if (lat === 0 && lon === 0) return rejection('bad_coordinates', 'lat 0, lon 0 is what receivers send when they have no fix')
  const timeProblem = checkTime(fix.time, limits)
  if (timeProblem !== undefined) return timeProblem
  if (fix.speed !== undefined && !(fix.speed >= 0 && fix.speed <= MAX_SPEED_MPS)) {
    return rejection('implausible_speed', `speed ${fix.speed} m/s is outside 0..${MAX_SPEED_MPS}`)
  }
  return tooSmall('speed', fix.speed) ??
    realOutOfRange('heading', fix.heading, 0, 360) ??
    realOutOfRange('accuracy', fix.accuracy, 0, 1_000_000) ??
    realOutOfRange('altitude', fix.altitude, -1000, 100_000) ??
    realOutOfRange('battery', fix.battery, 0, 100) ??
    // positions.seq is a bigint: a fraction or a number past 2^53 would be refused or rounded
    notWhole('seq', fix.seq, 0, Number.MAX_SAFE_INTEGER)
}

export function checkScan (scan: Scan, limits: ValidationLimits): Rejection | undefined {
  if (!EPC_HEX.test(scan.epc)) return rejection('bad_epc', `EPC "${printable(scan.epc.slice(0, 130))}" is not 4 to 124 hexadecimal digits in whole bytes`)
  return checkTime(scan.time, limits) ??
    notWhole('antenna', scan.antenna, 0, 65535) ??
    realOutOfRange('rssi', scan.rssi, -150, 30)
}

/** A device event's detail is stored as jsonb: every string in it must be storable. */
export function checkEvent (event: DeviceEvent, limits: ValidationLimits): Rejection | undefined {
  const text = findTextProblem(event.detail, 'detail')
  return checkTime(event.time, limits) ?? (text === undefined ? undefined : rejection('invalid_text', text))
}

/** Limits on what people type into the driver app, as the API's own schema has them. */
const DRIVER_TEXT_LIMITS = { parcel: 128, recipient: 200, note: 1000, 'proof.ref': 2000 } as const

export function checkDriverEvent (event: DriverEvent, limits: ValidationLimits): Rejection | undefined {
  const timeProblem = checkTime(event.time, limits)
  if (timeProblem !== undefined) return timeProblem
  if (event.lat !== undefined && event.lon !== undefined && !(Math.abs(event.lat) <= 90 && Math.abs(event.lon) <= 180)) {
    return rejection('bad_coordinates', `lat ${event.lat}, lon ${event.lon} is outside WGS84 ranges`)
  }
  const texts: Record<keyof typeof DRIVER_TEXT_LIMITS, string | undefined> = {
    parcel: event.parcel, recipient: event.recipient, note: event.note, 'proof.ref': event.proof?.ref
  }
  for (const [field, value] of Object.entries(texts)) {
    if (value === undefined) continue
    const problem = textProblem(value)
    if (problem !== undefined) return rejection('invalid_text', `${field} ${problem}`)
    const max = DRIVER_TEXT_LIMITS[field as keyof typeof DRIVER_TEXT_LIMITS]
    if (value.length > max) return rejection('bad_value', `${field} is ${value.length} characters long; at most ${max}`)
  }
  return undefined
}

/** The largest time JavaScript can represent, and the smallest: ±100,000,000 days from 1970. */
const MAX_TIME_MS = 8.64e15

function checkTime (time: number, limits: ValidationLimits): Rejection | undefined {
  if (!Number.isFinite(time)) return rejection('time_too_old', 'the timestamp is missing or not a date')
  const now = limits.now()
  if (time > now + limits.maxFutureMs) {
    return rejection('time_in_future', `${describeTime(time)} is ${Math.round((time - now) / 1000)} s ahead of the server clock`)
  }
  if (time < now - limits.maxAgeMs) {
    return rejection('time_too_old', `${describeTime(time)} is older than the ${Math.round(limits.maxAgeMs / 86_400_000)}-day window`)
  }
  return undefined
}

/** ISO 8601 where JavaScript can write it; beyond ±8.64e15 ms toISOString() would throw. */
function describeTime (time: number): string {
  return Math.abs(time) <= MAX_TIME_MS ? new Date(time).toISOString() : `${time} ms since 1970 (not a representable date)`
}

function outOfRange (field: string, value: number | undefined, min: number, max: number): Rejection | undefined {
  if (value === undefined || (value >= min && value <= max)) return undefined
  return rejection('bad_value', `${field} ${value} is outside ${min}..${max}`)
}

/**
 * PostgreSQL's real (float4) refuses a number whose magnitude rounds to 0 in single precision
 * ("is out of range for type real"), such as 1e-300. No speed, heading or RSSI is that small.
 */
const SMALLEST_REAL = 1e-37

function tooSmall (field: string, value: number | undefined): Rejection | undefined {
  if (value === undefined || value === 0 || Math.abs(value) >= SMALLEST_REAL) return undefined
  return rejection('bad_value', `${field} ${value} is too small to store: give 0, or a magnitude of at least ${SMALLEST_REAL}`)
}

function realOutOfRange (field: string, value: number | undefined, min: number, max: number): Rejection | undefined {
  return outOfRange(field, value, min, max) ?? tooSmall(field, value)
}

function notWhole (field: string, value: number | undefined, min: number, max: number): Rejection | undefined {
  if (value === undefined) return undefined
  if (!Number.isInteger(value)) return rejection('bad_value', `${field} ${value} is not a whole number`)
  return outOfRange(field, value, min, max)
}

/** A refusal's detail is stored as text: a NUL in what it quotes would refuse the refusal. */
function printable (text: string): string {
  return textProblem(text) === undefined ? text : JSON.stringify(text).slice(1, -1)
}
