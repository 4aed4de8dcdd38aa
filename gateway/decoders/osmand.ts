import type { Fix } from '../../proto/types.js'
import { rejection, type Rejection } from '../rejects.js'
import { emptyBatch, type DecodedBatch, type FormatDecoder } from './format.js'
import { parseIsoTime } from './iso-time.js'

// The OsmAnd protocol as Traccar's OsmAndProtocolDecoder reads it, and as Traccar Client sends it.

type NumericField = 'speed' | 'heading' | 'altitude' | 'accuracy' | 'battery'

const KNOT_MPS = 1852 / 3600
/** Traccar's rule: a numeric timestamp at or above Integer.MAX_VALUE is already milliseconds. */
const MS_THRESHOLD = 2_147_483_647
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i

/**
 * The query string of a GET, or the same parameters as a form-encoded body. The device names
 * itself with `id` or `deviceid`: OsmAnd has no other identity.
 */
export const decodeOsmAndQuery: FormatDecoder = (payload, context) => {
  const params = new URLSearchParams(payload.toString('utf8').trim())
  // an empty value is sent by clients that have nothing for the field
  const param = (name: string): string | undefined => {
    const value = params.get(name)
    return value === null || value === '' ? undefined : value
  }
  const deviceId = param('id') ?? param('deviceid')
  if (deviceId === undefined) return refused(rejection('missing_device_id', 'no id or deviceid parameter'))
  const valid = param('valid')
  if (valid !== undefined && valid !== '1' && valid.toLowerCase() !== 'true') {
    return refused(rejection('no_position', `the device marks the position valid=${quote(valid, 20)}`))
  }
  const position = queryPosition(param('lat'), param('lon'), param('location'))
  if (position === undefined) {
    const network = params.has('cell') || params.has('wifi') ? ' (only cell towers or Wi-Fi)' : ''
    return refused(rejection('no_position', `no lat/lon or location parameter${network}`))
  }
  if (typeof position === 'string') return refused(rejection('invalid_fix', position))
  const stamp = param('timestamp')
  const time = stamp === undefined ? context.receivedAt : parseTimestamp(stamp)
  if (time === undefined) return refused(rejection('invalid_fix', `timestamp ${quote(stamp ?? '', 40)} is not epoch seconds, epoch ms or a date`))

  const fix: Fix = { deviceId, time, lat: position.lat, lon: position.lon }
  // hdop is left out: it is a unitless dilution, not metres
  const optional: Array<[NumericField, string, string | undefined, number]> = [
    ['speed', 'speed', param('speed'), KNOT_MPS],
    ['heading', 'bearing', param('bearing') ?? param('heading'), 1],
    ['altitude', 'altitude', param('altitude'), 1],
    ['accuracy', 'accuracy', param('accuracy') ?? param('hacc'), 1],
    ['battery', 'batt', param('batt'), 1]
  ]
  for (const [field, name, raw, scale] of optional) {
    if (raw === undefined) continue
    const value = decimal(raw)
    if (value === undefined) return refused(rejection('invalid_fix', `${name} ${quote(raw, 40)} is not a number`))
    fix[field] = value * scale
  }
  return { ...emptyBatch(), fixes: [fix] }
}

function queryPosition (lat: string | undefined, lon: string | undefined, location: string | undefined): { lat: number, lon: number } | string | undefined {
  if (lat !== undefined || lon !== undefined) {
    const latitude = lat === undefined ? undefined : decimal(lat)
    const longitude = lon === undefined ? undefined : decimal(lon)
    if (latitude === undefined || longitude === undefined) return 'lat and lon must both be numbers'
    return { lat: latitude, lon: longitude }
  }
  if (location === undefined) return undefined
  const parts = location.split(',').map(decimal)
  const [latitude, longitude] = parts
  if (parts.length !== 2 || latitude === undefined || longitude === undefined) return 'location must be "lat,lon"'
  return { lat: latitude, lon: longitude }
}

/**
 * Traccar Client 8 (the transistorsoft background-geolocation format): speed in m/s, battery
 * level 0..1, and -1 wherever the platform does not know a value.
 */
export const decodeOsmAndJson: FormatDecoder = (payload, context) => {
  let body: unknown
  try {
    body = JSON.parse(payload.toString('utf8'))
  } catch (error) {
    return refused(rejection('malformed_json', printable((error as Error).message)))
  }
  if (!isRecord(body)) return refused(rejection('invalid_fix', 'the body is not a JSON object'))
  const id = body.device_id
  const deviceId = typeof id === 'string' ? id : isNumber(id) ? String(id) : ''
  if (deviceId === '') return refused(rejection('missing_device_id', 'no device_id'))
  // the plugin's batch sync sends an array of locations in the same envelope
  const locations = Array.isArray(body.location) ? body.location : body.location === undefined ? [] : [body.location]
  if (locations.length === 0) return refused(rejection('no_position', 'no location'))
  const batch = emptyBatch()
  locations.forEach((location, index) => {
    const fix = jsonFix(location, deviceId, context.receivedAt)
    const where = locations.length > 1 ? `location ${index}: ` : ''
    if (typeof fix === 'string') batch.rejects.push(rejection('invalid_fix', where + fix))
    else batch.fixes.push(fix)
  })
  return batch
}

function jsonFix (location: unknown, deviceId: string, receivedAt: number): Fix | string {
  if (!isRecord(location) || !isRecord(location.coords)) return 'location.coords is missing'
  const { coords, timestamp } = location
  const { latitude, longitude } = coords
  if (!isNumber(latitude) || !isNumber(longitude)) return 'coords.latitude and coords.longitude must be numbers'
  const time = timestamp === undefined ? receivedAt : typeof timestamp === 'string' ? parseTimestamp(timestamp) : undefined
  if (time === undefined) return 'location.timestamp is not an ISO-8601 date'
  const fix: Fix = { deviceId, time, lat: latitude, lon: longitude }
  const speed = known(coords.speed)
  if (speed !== undefined) fix.speed = speed
  const heading = known(coords.heading)
  if (heading !== undefined) fix.heading = heading
  const accuracy = known(coords.accuracy)
  if (accuracy !== undefined) fix.accuracy = accuracy
  // transistorsoft: altitude_accuracy is -1 when there is none, and "when this property contains
  // a negative number, the value in the altitude property is invalid" (iOS)
  if (isNumber(coords.altitude) && !(isNumber(coords.altitude_accuracy) && coords.altitude_accuracy < 0)) fix.altitude = coords.altitude
  const level = isRecord(location.battery) ? known(location.battery.level) : undefined
  // rounded to hundredths of a percent: 0.79 * 100 is 79.00000000000001 in floating point
  if (level !== undefined) fix.battery = Math.round(level * 10_000) / 100
  return fix
}

/**
 * Epoch seconds, epoch milliseconds, ISO-8601, or Traccar's 'yyyy-MM-dd HH:mm:ss'. A date without
 * a zone is read as UTC: Traccar reads it in its server's zone, which a device cannot know, and
 * UTC is what servers usually run in.
 */
function parseTimestamp (value: string): number | undefined {
  if (/^\d+(?:\.\d+)?$/.test(value)) {
    const epoch = Number(value)
    const ms = epoch >= MS_THRESHOLD ? epoch : Math.round(epoch * 1000)
    return Number.isFinite(ms) ? ms : undefined
  }
  return parseIsoTime(value, { zonelessAsUtc: true })
}


function decimal (value: string): number | undefined {
  const number = DECIMAL.test(value) ? Number(value) : Number.NaN
  // 400 digits parse as Infinity
  return Number.isFinite(number) ? number : undefined
}

/** The platforms report an unknown speed, heading, accuracy or battery level as -1. */
function known (value: unknown): number | undefined {
  return isNumber(value) && value >= 0 ? value : undefined
}

function isNumber (value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Input quoted for a reject detail: JSON escapes control characters, which PostgreSQL text cannot hold (NUL). */
function quote (value: string, max: number): string {
  return JSON.stringify(value.slice(0, max))
}

function refused (reject: Rejection): DecodedBatch {
  return { ...emptyBatch(), rejects: [reject] }
}

/** V8's parse errors quote the input, and PostgreSQL text cannot hold a NUL. */
function printable (text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, '?')
}
