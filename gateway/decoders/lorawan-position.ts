import type { Fix } from '../../proto/types.js'
import { parseIsoTime } from './iso-time.js'

/**
 * The device's own position in a LoRaWAN payload that a codec (TTS payload formatter, ChirpStack
 * device-profile codec) has already decoded. Codecs name things freely, so this accepts the common
 * spellings, matched case-insensitively:
 *
 * - latitude: latitude, lat, gps_lat, gpslat
 * - longitude: longitude, lon, lng, long, gps_lon, gps_lng, gpslon, gpslng
 * - numbers, or decimal strings (some codecs format with toFixed)
 *
 * They are looked for at the top level, then in one nested object named gps, gnss, location,
 * position, coordinates, or gps_<n> (Cayenne LPP's GPS channel, as TTS's CayenneLPP formatter
 * emits it). Beside them, in the same object or at the top level:
 *
 * - validity flag: gps_fix, gpsfix, fix, gnss_fix, has_fix, gps_valid, valid, position_valid.
 *   false, 0, "no fix", "none", "invalid" or "false" mean no position, whatever the coordinates say
 *   (trackers keep sending their last or zero coordinates without a fix)
 * - altitude, alt, altitude_m, gps_alt: metres
 * - accuracy, accuracy_m, acc, hacc: metres
 * - hdop: unitless, so it is returned as hdop and never taken for metres
 * - speed_mps, speedmps, speed_ms: m/s. speed_kmh, speedkmh, speed_kph, speedkmph: km/h.
 *   speed_knots, speedknots: knots. A bare speed is taken as km/h, the unit GPS tracker codecs
 *   report most (the NMEA VTG/ublox km/h field)
 * - heading, course, bearing, cog: degrees
 * - battery_percent, batterypercent, battery_pct, battery_level, batterylevel: percent. A bare
 *   battery, batt or bat only when it is a whole number from 0 to 100, because codecs also put volts
 *   (3.6) and millivolts (3507) under that name
 * - time, timestamp, gps_time, gpstime, fix_time, fixtime: ISO 8601, or epoch seconds or ms
 *   (numbers below 1e9 are ignored: uptime counters, not clocks)
 */
export interface OwnPosition {
  lat: number
  lon: number
  /** metres */
  altitude?: number
  /** metres */
  accuracy?: number
  hdop?: number
  /** m/s */
  speed?: number
  heading?: number
  /** percent */
  battery?: number
  /** ms since the Unix epoch */
  time?: number
}

/** `absent` when the payload has no coordinates; `no-fix` when the device says it has none. */
export type PositionLookup =
  | { kind: 'position', position: OwnPosition }
  | { kind: 'absent' | 'no-fix', detail: string }

type Fields = Record<string, unknown>

const LAT_KEYS = ['latitude', 'lat', 'gps_lat', 'gpslat']
const LON_KEYS = ['longitude', 'lon', 'lng', 'long', 'gps_lon', 'gps_lng', 'gpslon', 'gpslng']
const NESTED_KEYS = ['gps', 'gnss', 'location', 'position', 'coordinates']
const FIX_KEYS = ['gps_fix', 'gpsfix', 'fix', 'gnss_fix', 'has_fix', 'gps_valid', 'valid', 'position_valid']
const ALTITUDE_KEYS = ['altitude', 'alt', 'altitude_m', 'gps_alt']
const ACCURACY_KEYS = ['accuracy', 'accuracy_m', 'acc', 'hacc']
const HEADING_KEYS = ['heading', 'course', 'bearing', 'cog']
const PERCENT_KEYS = ['battery_percent', 'batterypercent', 'battery_pct', 'battery_level', 'batterylevel']
const BARE_BATTERY_KEYS = ['battery', 'batt', 'bat']
const TIME_KEYS = ['time', 'timestamp', 'gps_time', 'gpstime', 'fix_time', 'fixtime']
const SPEED_UNITS: Array<[string[], (value: number) => number]> = [
  [['speed_mps', 'speedmps', 'speed_ms'], (mps) => mps],
  [['speed_kmh', 'speedkmh', 'speed_kph', 'speedkmph', 'speed'], (kmh) => kmh / 3.6],
  [['speed_knots', 'speedknots'], (knots) => knots * 1852 / 3600]
]

/** The Fix for a position; hdop stays out, being no distance. */
export function toFix (own: OwnPosition, deviceId: string, time: number): Fix {
  const fix: Fix = { deviceId, time, lat: own.lat, lon: own.lon }
  if (own.altitude !== undefined) fix.altitude = own.altitude
  if (own.accuracy !== undefined) fix.accuracy = own.accuracy
  if (own.speed !== undefined) fix.speed = own.speed
  if (own.heading !== undefined) fix.heading = own.heading
  if (own.battery !== undefined) fix.battery = own.battery
  return fix
}

export function findOwnPosition (decoded: unknown): PositionLookup {
  if (!isFields(decoded)) return { kind: 'absent', detail: 'the decoded payload is not an object' }
  for (const container of containers(decoded)) {
    const lat = numberAt(container, LAT_KEYS)
    const lon = numberAt(container, LON_KEYS)
    if (lat === undefined || lon === undefined) continue
    const noFix = fixFlag(container) ?? fixFlag(decoded)
    if (noFix !== undefined) return { kind: 'no-fix', detail: `the decoded payload says there is no GPS fix (${noFix})` }
    return { kind: 'position', position: describe(lat, lon, container, decoded) }
  }
  const keys = Object.keys(decoded).slice(0, 8).join(', ')
  return { kind: 'absent', detail: `the decoded payload has no latitude/longitude (keys: ${keys === '' ? 'none' : keys})` }
}


/** The top level first, then each nested object a codec may put the fix in. */
function containers (decoded: Fields): Fields[] {
  const nested = Object.keys(decoded)
    .filter((key) => NESTED_KEYS.includes(key.toLowerCase()) || /^gps_\d+$/i.test(key))
    .sort((a, b) => rank(a) - rank(b))
    .map((key) => decoded[key])
    .filter(isFields)
  return [decoded, ...nested]
}

function rank (key: string): number {
  const index = NESTED_KEYS.indexOf(key.toLowerCase())
  return index === -1 ? NESTED_KEYS.length + Number(key.slice(4)) : index
}

function describe (lat: number, lon: number, container: Fields, top: Fields): OwnPosition {
  const position: OwnPosition = { lat, lon }
  const pick = (keys: string[]): number | undefined => numberAt(container, keys) ?? numberAt(top, keys)
  const altitude = pick(ALTITUDE_KEYS)
  if (altitude !== undefined) position.altitude = altitude
  const accuracy = pick(ACCURACY_KEYS)
  if (accuracy !== undefined) position.accuracy = accuracy
  const hdop = pick(['hdop'])
  if (hdop !== undefined) position.hdop = hdop
  const speed = speedOf(container) ?? speedOf(top)
  if (speed !== undefined) position.speed = speed
  const heading = pick(HEADING_KEYS)
  if (heading !== undefined) position.heading = heading
  const battery = batteryOf(container) ?? batteryOf(top)
  if (battery !== undefined) position.battery = battery
  const time = timeOf(container) ?? timeOf(top)
  if (time !== undefined) position.time = time
  return position
}

function speedOf (fields: Fields): number | undefined {
  for (const [keys, toMps] of SPEED_UNITS) {
    const value = numberAt(fields, keys)
    if (value !== undefined) return toMps(value)
  }
  return undefined
}

function batteryOf (fields: Fields): number | undefined {
  const percent = numberAt(fields, PERCENT_KEYS)
  if (percent !== undefined) return percent
  const bare = numberAt(fields, BARE_BATTERY_KEYS)
  return bare !== undefined && Number.isInteger(bare) && bare >= 0 && bare <= 100 ? bare : undefined
}

function timeOf (fields: Fields): number | undefined {
  const value = valueAt(fields, TIME_KEYS)
  if (typeof value === 'string') return parseIsoTime(value)
  // below 1e9 s (2001) it is an uptime counter or a sequence number, not a clock
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 1e9) return undefined
  // epoch seconds until the year 33658; anything larger is already milliseconds
  return value < 1e12 ? value * 1000 : value
}

/** A description of a flag that denies a fix, or undefined when there is none or it allows one. */
function fixFlag (fields: Fields): string | undefined {
  for (const [key, value] of Object.entries(fields)) {
    if (!FIX_KEYS.includes(key.toLowerCase())) continue
    const denies = value === false || value === 0 ||
      (typeof value === 'string' && /^(no[\s_-]*fix|none|invalid|false|0)$/i.test(value.trim()))
    if (denies) return `${key}: ${JSON.stringify(value)}`
  }
  return undefined
}

function numberAt (fields: Fields, keys: string[]): number | undefined {
  const value = valueAt(fields, keys)
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined
  if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) return Number(value)
  return undefined
}

/** The value of the first key in `keys` that the object has, compared case-insensitively. */
function valueAt (fields: Fields, keys: string[]): unknown {
  const present = new Map(Object.keys(fields).map((key) => [key.toLowerCase(), key]))
  for (const key of keys) {
    const actual = present.get(key)
    if (actual !== undefined) return fields[actual]
  }
  return undefined
}

function isFields (value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
