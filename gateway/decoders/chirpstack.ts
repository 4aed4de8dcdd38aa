import { rejection, type Rejection } from '../rejects.js'
import { emptyBatch, type FormatDecoder } from './format.js'
import { parseIsoTime } from './iso-time.js'
import { findOwnPosition, toFix } from './lorawan-position.js'

// Events: https://www.chirpstack.io/docs/chirpstack/integrations/events.html

type Fields = Record<string, unknown>

const TOPIC = /^application\/([^/]+)\/device\/([^/]+)\/event\/([^/]+)$/

/**
 * ChirpStack v4 integration events (MQTT, JSON marshaler). The fix belongs to deviceInfo.devEui:
 * the network server speaks for many devices. Only the position the device-profile codec decoded
 * from the device's own payload (`object`) counts; never a gateway's (rxInfo[].location), and not
 * the `location` event, which the network estimates.
 */
export const decodeChirpstack: FormatDecoder = (payload, context) => {
  const batch = emptyBatch()
  const refuse = (reject: Rejection): typeof batch => {
    batch.rejects.push(reject)
    return batch
  }
  let topicDevEui: string | undefined
  let topicEvent: string | undefined
  if (context.topic !== null) {
    const match = TOPIC.exec(context.topic)
    if (match === null) return refuse(rejection('wrong_format', `topic "${context.topic.slice(0, 120)}" is not application/<applicationId>/device/<devEui>/event/<event>`))
    topicDevEui = match[2]
    topicEvent = match[3]
  }
  const text = payload.toString('utf8').trim()
  if (!text.startsWith('{') && !text.startsWith('[')) {
    return refuse(rejection('wrong_format', 'not JSON: ChirpStack must be set to the JSON marshaler (marshaler="json" in the MQTT integration), not protobuf'))
  }
  let message: unknown
  try {
    message = JSON.parse(text)
  } catch (error) {
    return refuse(rejection('malformed_json', (error as Error).message))
  }
  if (!isFields(message)) return refuse(rejection('wrong_format', 'not a ChirpStack event JSON object'))
  if (!isFields(message.deviceInfo) && ('devEUI' in message || 'objectJSON' in message || 'applicationID' in message)) {
    return refuse(rejection('wrong_format', 'a ChirpStack v3 event (devEUI, objectJSON); trackstream reads ChirpStack v4 events'))
  }
  const info = isFields(message.deviceInfo) ? message.deviceInfo : {}
  const devEui = info.devEui
  if (typeof devEui !== 'string' || devEui === '') return refuse(rejection('missing_device_id', 'the event has no deviceInfo.devEui'))
  if (topicDevEui !== undefined && topicDevEui.toLowerCase() !== devEui.toLowerCase()) {
    return refuse(rejection('device_mismatch', `deviceInfo.devEui "${devEui.slice(0, 40)}" is not "${topicDevEui}" from the topic`))
  }
  const event = topicEvent ?? eventOf(message)
  if (event === 'location') return refuse(rejection('no_position', 'a network-estimated location, not the device\'s own'))
  if (event !== 'up') return refuse(rejection('unsupported_message', `event "${event.slice(0, 40)}"`))

  const gateway = hasGatewayLocation(message) ? '; the gateway location in rxInfo was ignored' : ''
  if (message.object === undefined) return refuse(rejection('no_position', `no object: no codec is configured in the device profile${gateway}`))
  const lookup = findOwnPosition(message.object)
  if (lookup.kind !== 'position') return refuse(rejection('no_position', `${lookup.detail}${gateway}`))
  const own = lookup.position
  const time = own.time ?? parseIsoTime(message.time)
  if (time === undefined) return refuse(rejection('invalid_fix', `time ${quote(message.time)} is not an ISO 8601 time`))
  const fix = toFix(own, devEui.toLowerCase(), time)
  // the device's own DevStatusAns, when the codec gives no battery; mains-powered devices and an
  // unknown level report no percentage worth keeping
  const status = message.deviceStatus
  if (fix.battery === undefined && isFields(status) && status.externalPowerSource !== true &&
    isNumber(status.batteryLevel) && status.batteryLevel >= 0 && status.batteryLevel <= 100) {
    fix.battery = status.batteryLevel
  }
  batch.fixes.push(fix)
  return batch
}

/** Over HTTP the event name is a query parameter the decoder does not see: guess from the body. */
function eventOf (message: Fields): string {
  if (isFields(message.location)) return 'location'
  if (['object', 'data', 'fPort', 'fCnt', 'rxInfo'].some((key) => key in message)) return 'up'
  return 'unknown (no MQTT topic to name it)'
}

function hasGatewayLocation (message: Fields): boolean {
  const rxInfo = Array.isArray(message.rxInfo) ? message.rxInfo : []
  return rxInfo.some((rx) => isFields(rx) && isFields(rx.location) && Object.keys(rx.location).length > 0)
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
