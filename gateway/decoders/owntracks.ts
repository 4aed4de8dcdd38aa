import type { Fix } from '../../proto/types.js'
import { rejection } from '../rejects.js'
import { emptyBatch, type DecodedBatch, type DecodeContext, type DeviceEvent, type FormatDecoder } from './format.js'

// Field meanings and units: https://owntracks.org/booklet/tech/json/

type Message = Record<string, unknown>

/**
 * OwnTracks JSON, from MQTT (owntracks/<user>/<device>[/...]) or an HTTP POST. The device is the
 * one the transport vouches for; the `topic` key an HTTP body may carry is only informative.
 */
export const decodeOwnTracks: FormatDecoder = (payload, context) => {
  const batch = emptyBatch()
  let parsed: unknown
  try {
    parsed = JSON.parse(payload.toString('utf8'))
  } catch (error) {
    batch.rejects.push(rejection('malformed_json', printable((error as Error).message)))
    return batch
  }
  // the apps POST one message; arrays come from HTTP batches and recorder responses
  const messages = Array.isArray(parsed) ? parsed : [parsed]
  if (messages.length === 0) batch.rejects.push(rejection('empty_batch', 'the payload is an empty array'))
  messages.forEach((message, index) => {
    decodeMessage(message, context, batch, messages.length > 1 ? `message ${index}: ` : '')
  })
  return batch
}

function decodeMessage (message: unknown, context: DecodeContext, batch: DecodedBatch, where: string): void {
  if (!isMessage(message)) {
    batch.rejects.push(rejection('invalid_fix', `${where}not a JSON object`))
    return
  }
  const type = message._type
  if (typeof type !== 'string') {
    batch.rejects.push(rejection('invalid_fix', `${where}no _type, so not an OwnTracks message`))
    return
  }
  const refuse = (detail: string): void => { batch.rejects.push(rejection('invalid_fix', `${where}${detail}`)) }
  switch (type) {
    case 'location': {
      const fix = toFix(message, context.deviceId)
      if (typeof fix === 'string') refuse(fix)
      else batch.fixes.push(fix)
      return
    }
    case 'transition': {
      const event = toTransition(message, context.deviceId)
      if (typeof event === 'string') refuse(event)
      else batch.events.push(event)
      return
    }
    case 'lwt':
      batch.events.push(toOffline(message, context))
      return
    default:
      batch.rejects.push(rejection('unsupported_message', `${where}_type ${JSON.stringify(type.slice(0, 40))}`))
  }
}

/** A Fix, or why the message cannot be one. */
function toFix (message: Message, deviceId: string): Fix | string {
  const { lat, lon } = message
  if (!isNumber(lat) || !isNumber(lon)) return 'location needs numeric lat and lon'
  const time = fixTime(message.tst)
  // no fallback to the receive time: an HTTP-mode app can queue messages for hours
  if (time === undefined) return 'location needs a non-zero numeric tst (epoch seconds)'
  const fix: Fix = { deviceId, time, lat, lon }
  // an unknown speed, course or accuracy arrives negative (CoreLocation's -1 on iOS, acc -1 from
  // qtripp trackers); dropping the field keeps the position, which the pipeline would refuse whole
  const vel = known(message.vel)
  if (vel !== undefined) fix.speed = vel / 3.6
  const cog = known(message.cog)
  if (cog !== undefined) fix.heading = cog
  const acc = known(message.acc)
  if (acc !== undefined) fix.accuracy = acc
  // below sea level is real (the Netherlands), so altitude keeps its sign; but a negative vertical
  // accuracy (vac) is CoreLocation's "the altitude is invalid", so there is no altitude then
  if (isNumber(message.alt) && !(isNumber(message.vac) && message.vac < 0)) fix.altitude = message.alt
  // the booklet's -1 means the app could not read the battery
  const batt = known(message.batt)
  if (batt !== undefined) fix.battery = batt
  return fix
}

function toTransition (message: Message, deviceId: string): DeviceEvent | string {
  const { event, lat, lon } = message
  if (event !== 'enter' && event !== 'leave') return 'transition needs event "enter" or "leave"'
  const time = fixTime(message.tst)
  if (time === undefined) return 'transition needs a non-zero numeric tst (epoch seconds)'
  // the booklet marks lat/lon optional here; present but not numbers is a broken message
  if ((lat !== undefined && !isNumber(lat)) || (lon !== undefined && !isNumber(lon))) {
    return 'transition lat and lon must be numbers'
  }
  return {
    deviceId,
    time,
    type: event === 'enter' ? 'geofence_enter' : 'geofence_leave',
    detail: {
      region: typeof message.desc === 'string' ? message.desc : null,
      trigger: typeof message.t === 'string' ? message.t : null,
      lat: isNumber(lat) ? lat : null,
      lon: isNumber(lon) ? lon : null
    }
  }
}

/**
 * The broker publishes the will the moment it loses the app, so that moment is the receive time.
 * The will's own tst is when the app connected (the payload is fixed at CONNECT), hours or days
 * earlier: using it would place "offline" before every fix of the session. It is kept as detail.
 */
function toOffline (message: Message, context: DecodeContext): DeviceEvent {
  const connectedAt = fixTime(message.tst)
  return { deviceId: context.deviceId, time: context.receivedAt, type: 'offline', detail: { connectedAt: connectedAt ?? null } }
}

/** tst in ms; undefined when missing, not a number, or 0 (what apps send before they have a fix). */
function fixTime (tst: unknown): number | undefined {
  if (!isNumber(tst) || tst === 0) return undefined
  const ms = Math.round(tst * 1000)
  return Number.isFinite(ms) ? ms : undefined
}

function known (value: unknown): number | undefined {
  return isNumber(value) && value >= 0 ? value : undefined
}

function isNumber (value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}

function isMessage (value: unknown): value is Message {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** V8's parse errors quote the input, and PostgreSQL text cannot hold a NUL. */
function printable (text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, '?')
}
