import type { Scan } from '../../proto/types.js'
import { rejection } from '../rejects.js'
import { emptyBatch, type DecodedBatch, type DecodeContext, type DeviceEvent, type FormatDecoder } from './format.js'
import { parseIsoTime } from './iso-time.js'

// ReaderEvent fields: Impinj IoT Device Interface reference (the Reader Configuration REST API's
// OpenAPI definitions ReaderEvent, TagInventoryEvent, AntennaConnectedEvent, InventoryStatusEvent,
// GpiTransitionEvent, OverflowEvent), https://platform.impinj.com/site/docs/reader_api/

type Fields = Record<string, unknown>

/**
 * An Impinj R700/R720 on the IoT Device Interface: one ReaderEvent (HTTP stream, MQTT eventTopic)
 * or a JSON array of them (webhook; an empty array is the webhook's keep-alive). On its MQTT will
 * topic the reader sends plain text instead.
 *
 * A ReaderEvent holds exactly one "…Event" object, whose key names its kind; firmware from REST
 * API 1.7 on also says it in eventType, older firmware does not, so the key decides.
 */
export const decodeImpinj: FormatDecoder = (payload, context) => {
  const batch = emptyBatch()
  const text = payload.toString('utf8').trim()
  if (text === '') {
    batch.rejects.push(rejection('empty_batch', 'the payload is empty'))
    return batch
  }
  if (!text.startsWith('{') && !text.startsWith('[')) {
    decodeStatusText(text, context, batch)
    return batch
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    batch.rejects.push(rejection('malformed_json', (error as Error).message))
    return batch
  }
  const events = Array.isArray(parsed) ? parsed : [parsed]
  // "If no events have queued for delivery when the linger time elapses, an empty batch will be sent"
  if (events.length === 0) batch.events.push({ deviceId: context.deviceId, time: context.receivedAt, type: 'heartbeat', detail: { via: 'webhook' } })
  events.forEach((event, index) => {
    decodeEvent(event, context, batch, events.length > 1 ? `event ${index}: ` : '')
  })
  return batch
}

/** The will's default texts are "connected" and "connection lost". */
function decodeStatusText (text: string, context: DecodeContext, batch: DecodedBatch): void {
  const status = text.slice(0, 60)
  const said = text.toLowerCase()
  if (said === 'connection lost' || said === 'connected') {
    batch.events.push({ deviceId: context.deviceId, time: context.receivedAt, type: said === 'connected' ? 'online' : 'offline', detail: { status } })
  } else {
    batch.rejects.push(rejection('unsupported_message', `plain-text reader status "${status}"`))
  }
}

function decodeEvent (event: unknown, context: DecodeContext, batch: DecodedBatch, where: string): void {
  if (!isFields(event)) {
    batch.rejects.push(rejection('invalid_scan', `${where}not a JSON object`))
    return
  }
  const inventory = event.tagInventoryEvent
  if (isFields(inventory)) {
    const scan = toScan(event, inventory, context.deviceId)
    if (typeof scan === 'string') batch.rejects.push(rejection('invalid_scan', `${where}${scan}`))
    else batch.scans.push(scan)
    return
  }
  const kind = kindOf(event)
  if (kind === 'tagInventory') {
    batch.rejects.push(rejection('invalid_scan', `${where}eventType tagInventory without a tagInventoryEvent object`))
    return
  }
  const housekeeping = HOUSEKEEPING[kind]
  if (housekeeping === undefined) {
    batch.rejects.push(rejection('unsupported_message', `${where}ReaderEvent kind "${kind}"`))
    return
  }
  const time = parseIsoTime(event.timestamp)
  if (time === undefined) {
    batch.rejects.push(rejection('invalid_event', `${where}${kind}: timestamp ${quote(event.timestamp)} is not an ISO 8601 time`))
    return
  }
  const body = event[`${kind}Event`]
  const read = housekeeping(isFields(body) ? body : {})
  if (typeof read === 'string') {
    batch.rejects.push(rejection('invalid_event', `${where}${kind}Event ${read}`))
    return
  }
  batch.events.push({ deviceId: context.deviceId, time, ...read })
}

type Housekeeping = (body: Fields) => Pick<DeviceEvent, 'type' | 'detail'> | string

/** What each of the reader's own events means for its health; the string says why one cannot be read. */
const HOUSEKEEPING: Record<string, Housekeeping | undefined> = {
  antennaConnected: (body) => antenna('antenna_connected', body),
  antennaDisconnected: (body) => antenna('antenna_disconnected', body),
  inventoryStatus: ({ status }) => {
    // idle, running or armed; the schema leaves it optional
    if (status !== undefined && typeof status !== 'string') return 'has a status that is not a string'
    return { type: 'inventory_status', detail: { status: typeof status === 'string' ? status.slice(0, 40) : 'unknown' } }
  },
  // "sent to indicate that the InventoryRequest terminated due to a reader exception"
  inventoryTerminated: () => ({ type: 'inventory_status', detail: { status: 'terminated' } }),
  gpiTransition: ({ gpi, transition }) => {
    if (!isPositiveInteger(gpi)) return 'has no gpi number'
    if (transition !== 'high-to-low' && transition !== 'low-to-high') return 'has a transition other than high-to-low or low-to-high'
    return { type: 'gpi', detail: { pin: gpi, state: transition === 'low-to-high' ? 'high' : 'low' } }
  },
  // the reader's event queue overflowed and it dropped events: reads may be missing
  overflow: ({ eventsPurged }) => ({
    type: 'reader_alert',
    detail: { level: 'warning', message: `the reader's event queue overflowed: ${typeof eventsPurged === 'number' ? eventsPurged : 'some'} events were purged` }
  }),
  diagnostic: () => ({ type: 'reader_alert', detail: { level: 'info', message: 'diagnostic event' } })
}

function antenna (type: 'antenna_connected' | 'antenna_disconnected', { antennaPort }: Fields): Pick<DeviceEvent, 'type' | 'detail'> | string {
  return isPositiveInteger(antennaPort) ? { type, detail: { port: antennaPort } } : 'has no antennaPort from 1 up'
}

/** A Scan, or why the tag read cannot be one. */
function toScan (event: Fields, inventory: Fields, readerId: string): Scan | string {
  const epc = epcOf(inventory)
  if (epc === undefined) return 'tagInventoryEvent has no epcHex, and no epc in base64 (a TID-only report?)'
  // with eventConfig.tagInventory.lastSeenTime enabled, the tag's own read time; else when the event was queued
  const { lastSeenTime } = inventory
  const time = lastSeenTime === undefined ? parseIsoTime(event.timestamp) : parseIsoTime(lastSeenTime)
  if (time === undefined) {
    return lastSeenTime === undefined
      ? `timestamp ${quote(event.timestamp)} is not an ISO 8601 time`
      : `lastSeenTime ${quote(lastSeenTime)} is not an ISO 8601 time`
  }
  const { antennaPort, peakRssiCdbm } = inventory
  // the eventConfig can switch antennaPort off; the read still happened
  if (antennaPort !== undefined && !isNumber(antennaPort)) return 'antennaPort is not a number'
  if (peakRssiCdbm !== undefined && !isNumber(peakRssiCdbm)) return 'peakRssiCdbm is not a number'
  const scan: Scan = { readerId, antenna: antennaPort ?? 0, epc, time }
  if (peakRssiCdbm !== undefined) scan.rssi = peakRssiCdbm / 100
  return scan
}

function epcOf (inventory: Fields): string | undefined {
  const { epcHex, epc } = inventory
  if (typeof epcHex === 'string') return epcHex.toUpperCase()
  if (typeof epc === 'string') return base64ToHex(epc)
  return undefined
}

/**
 * Strict, unlike Buffer.from(…, 'base64'), which skips characters it does not know. Both alphabets
 * are accepted: reader captures show the URL-safe one (`_`, `-`) as well as the standard one.
 */
function base64ToHex (text: string): string | undefined {
  const body = text.replace(/=+$/, '')
  if (body === '' || !/^[A-Za-z0-9+/_-]+$/.test(body) || body.length % 4 === 1) return undefined
  return Buffer.from(body.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('hex').toUpperCase()
}

/** The "…Event" key present (its kind is the key without "Event"), else eventType, else unknown. */
function kindOf (event: Fields): string {
  const key = Object.keys(event).find((name) => name.endsWith('Event') && name.length > 5 && isFields(event[name]))
  if (key !== undefined) return key.slice(0, -5).slice(0, 40)
  if (typeof event.eventType === 'string') return event.eventType.slice(0, 40)
  return 'unknown'
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

function isPositiveInteger (value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535
}
