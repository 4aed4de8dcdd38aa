import { rejection, type Rejection } from '../rejects.js'
import { emptyBatch, type FormatDecoder } from './format.js'
import { parseIsoTime } from './iso-time.js'
import { findOwnPosition, toFix, type OwnPosition } from './lorawan-position.js'

// ApplicationUp: https://www.thethingsindustries.com/docs/integrations/data-formats/

type Fields = Record<string, unknown>

const TOPIC = /^v3\/([^/@]+)(?:@([^/]+))?\/devices\/([^/]+)\/(.+)$/

/** The ApplicationUp messages that are not uplinks, by the key that carries them. */
const OTHER_KINDS = [
  'uplink_normalized', 'join_accept', 'downlink_ack', 'downlink_nack', 'downlink_sent', 'downlink_failed', 'downlink_queued',
  'downlink_queue_invalidated', 'location_solved', 'service_data'
]

/**
 * The Things Stack v3 MQTT or webhook uplinks. The network server speaks for many end devices, so
 * the fix belongs to end_device_ids.dev_eui, not to the integration that delivered it. Only the
 * device's own position counts: its decoded payload, or the location TTS derived from it
 * (locations["frm-payload"]); never a gateway's (rx_metadata) or the registry's (locations.user).
 */
export const decodeTtn: FormatDecoder = (payload, context) => {
  const batch = emptyBatch()
  const refuse = (reject: Rejection): typeof batch => {
    batch.rejects.push(reject)
    return batch
  }
  let topicDevice: string | undefined
  if (context.topic !== null) {
    const match = TOPIC.exec(context.topic)
    if (match === null) return refuse(rejection('wrong_format', `topic "${context.topic.slice(0, 120)}" is not v3/<app>[@<tenant>]/devices/<device>/<event>`))
    topicDevice = match[3]
  }
  let message: unknown
  try {
    message = JSON.parse(payload.toString('utf8'))
  } catch (error) {
    return refuse(rejection('malformed_json', (error as Error).message))
  }
  if (!isFields(message)) return refuse(rejection('wrong_format', 'not an ApplicationUp JSON object'))
  const up = message.uplink_message
  if (!isFields(up)) {
    const kind = OTHER_KINDS.find((key) => key in message) ?? 'without uplink_message'
    return refuse(rejection('unsupported_message', `ApplicationUp ${kind}`))
  }
  // the Console's "simulate uplink" publishes on the same topic; no device was anywhere
  if (message.simulated === true) return refuse(rejection('unsupported_message', 'a simulated uplink (sent from the TTS Console, not by the device)'))
  const ids = isFields(message.end_device_ids) ? message.end_device_ids : {}
  if (topicDevice !== undefined && ids.device_id !== topicDevice) {
    return refuse(rejection('device_mismatch', `end_device_ids.device_id ${quote(ids.device_id)} is not "${topicDevice}" from the topic`))
  }
  const devEui = ids.dev_eui
  if (typeof devEui !== 'string' || devEui === '') {
    return refuse(rejection('missing_device_id', `end_device_ids has no dev_eui (device ${quote(ids.device_id)}; an ABP device registered without a DevEUI?)`))
  }
  const own = ownPosition(up)
  if (typeof own === 'string') return refuse(rejection('no_position', `${own}${ignored(up)}`))
  const time = own.time ?? parseIsoTime(up.received_at) ?? parseIsoTime(message.received_at)
  if (time === undefined) return refuse(rejection('invalid_fix', 'no time: neither the decoded payload nor received_at gives one'))
  batch.fixes.push(toFix(own, devEui.toLowerCase(), time))
  return batch
}

/** The device's own position, or why there is none. */
function ownPosition (up: Fields): OwnPosition | string {
  const decoded = up.decoded_payload
  const lookup = decoded === undefined
    ? { kind: 'absent' as const, detail: 'no decoded_payload (no payload formatter?)' }
    : findOwnPosition(decoded)
  if (lookup.kind === 'position') return lookup.position
  // a device that says it has no fix is believed, even if TTS copied stale coordinates
  if (lookup.kind === 'no-fix') return lookup.detail
  const locations = isFields(up.locations) ? up.locations : {}
  const derived = locations['frm-payload']
  if (isFields(derived) && isNumber(derived.latitude) && isNumber(derived.longitude)) {
    const position: OwnPosition = { lat: derived.latitude, lon: derived.longitude }
    if (isNumber(derived.altitude)) position.altitude = derived.altitude
    if (isNumber(derived.accuracy)) position.accuracy = derived.accuracy
    return position
  }
  return lookup.detail
}

/** Says which other locations the message had, so nobody wonders why they were not used. */
function ignored (up: Fields): string {
  const sources: string[] = []
  const metadata = Array.isArray(up.rx_metadata) ? up.rx_metadata : []
  if (metadata.some((rx) => isFields(rx) && isFields(rx.location))) sources.push('a gateway location (rx_metadata)')
  if (isFields(up.locations) && isFields(up.locations.user)) sources.push('a registry location (locations.user, SOURCE_REGISTRY)')
  if (sources.length === 0) return ''
  return `; ${sources.join(' and ')} ${sources.length > 1 ? 'were' : 'was'} present and ignored`
}

function quote (value: unknown): string {
  return value === undefined ? '(missing)' : JSON.stringify(value).slice(0, 60)
}

function isFields (value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isNumber (value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}
