import type { Scan } from '../../proto/types.js'
import { rejection } from '../rejects.js'
import { emptyBatch, type DecodedBatch, type DecodeContext, type FormatDecoder } from './format.js'
import { parseIsoTime } from './iso-time.js'

// ReaderEvent fields: Impinj IoT Device Interface reference, https://platform.impinj.com/site/docs/reader_api/

type Fields = Record<string, unknown>

/**
 * An Impinj R700/R720 on the IoT Device Interface: one ReaderEvent (HTTP stream, MQTT eventTopic)
 * or a JSON array of them (webhook). On its MQTT will topic the reader sends plain text instead.
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
  if (events.length === 0) batch.rejects.push(rejection('empty_batch', 'the payload is an empty array'))
  events.forEach((event, index) => {
    decodeEvent(event, context, batch, events.length > 1 ? `event ${index}: ` : '')
  })
  return batch
}

/** The will's default texts are "connected" and "connection lost"; only the loss is news. */
function decodeStatusText (text: string, context: DecodeContext, batch: DecodedBatch): void {
  const status = text.slice(0, 60)
  if (text.toLowerCase() === 'connection lost') {
    batch.events.push({ deviceId: context.deviceId, time: context.receivedAt, type: 'offline', detail: { status } })
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
  if (!isFields(inventory)) {
    const kind = kindOf(event)
    if (kind === 'tagInventory') batch.rejects.push(rejection('invalid_scan', `${where}eventType tagInventory without a tagInventoryEvent object`))
    else batch.rejects.push(rejection('unsupported_message', `${where}ReaderEvent kind "${kind}"`))
    return
  }
  const scan = toScan(event, inventory, context.deviceId)
  if (typeof scan === 'string') batch.rejects.push(rejection('invalid_scan', `${where}${scan}`))
  else batch.scans.push(scan)
}

/** A Scan, or why the tag read cannot be one. */
function toScan (event: Fields, inventory: Fields, readerId: string): Scan | string {
  const epc = epcOf(inventory)
  if (epc === undefined) return 'tagInventoryEvent has no epcHex, and no epc in base64 (a TID-only report?)'
  const time = parseIsoTime(event.timestamp)
  if (time === undefined) return `timestamp ${quote(event.timestamp)} is not an ISO 8601 time`
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

/** ReaderEvents carry their kind as an "…Event" object, and newer firmware also as eventType. */
function kindOf (event: Fields): string {
  if (typeof event.eventType === 'string') return event.eventType.slice(0, 40)
  const key = Object.keys(event).find((name) => name.endsWith('Event') && isFields(event[name]))
  return key?.slice(0, 40) ?? 'unknown'
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
