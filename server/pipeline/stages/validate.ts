import { rejection, type Rejection } from '../../../gateway/rejects.js'
import type { Fix, Scan } from '../../../proto/types.js'
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
  return { name: 'validate-event', run: (item) => checkTime(item.event.time, limits) }
}

export function validateDriverEvent (limits: ValidationLimits): Stage<DriverItem> {
  return { name: 'validate-driver-event', run: (item) => checkTime(item.event.time, limits) }
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
  return outOfRange('heading', fix.heading, 0, 360) ??
    outOfRange('accuracy', fix.accuracy, 0, 1_000_000) ??
    outOfRange('altitude', fix.altitude, -1000, 100_000) ??
    outOfRange('battery', fix.battery, 0, 100)
}

export function checkScan (scan: Scan, limits: ValidationLimits): Rejection | undefined {
  if (!EPC_HEX.test(scan.epc)) return rejection('bad_epc', `EPC "${scan.epc.slice(0, 130)}" is not 4 to 124 hexadecimal digits in whole bytes`)
  return checkTime(scan.time, limits) ??
    outOfRange('antenna', scan.antenna, 0, 65535) ??
    outOfRange('rssi', scan.rssi, -150, 30)
}

function checkTime (time: number, limits: ValidationLimits): Rejection | undefined {
  if (!Number.isFinite(time)) return rejection('time_too_old', 'the timestamp is missing or not a date')
  const now = limits.now()
  if (time > now + limits.maxFutureMs) {
    return rejection('time_in_future', `${new Date(time).toISOString()} is ${Math.round((time - now) / 1000)} s ahead of the server clock`)
  }
  if (time < now - limits.maxAgeMs) {
    return rejection('time_too_old', `${new Date(time).toISOString()} is older than the ${Math.round(limits.maxAgeMs / 86_400_000)}-day window`)
  }
  return undefined
}

function outOfRange (field: string, value: number | undefined, min: number, max: number): Rejection | undefined {
  if (value === undefined || (value >= min && value <= max)) return undefined
  return rejection('bad_value', `${field} ${value} is outside ${min}..${max}`)
}
