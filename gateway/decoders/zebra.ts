import type { Scan } from '../../proto/types.js'
import { rejection } from '../rejects.js'
import { emptyBatch, type DecodedBatch, type DeviceEvent, type FormatDecoder } from './format.js'
import { parseIsoTime } from './iso-time.js'

// Event envelopes: Zebra IoT Connector docs, https://zebradevs.github.io/rfid-ziotc-docs/ (data
// events; management events: heartbeat, gpi, gpo, error, warning, userapp, hello), and the field
// names of Zebra's own models in ZebraDevs/RFID-IoTConnector-MQTT-dotnet-DockDoorSample.

type Fields = Record<string, unknown>

/**
 * Zebra FX/ATR readers on the IoT Connector: {"data": {...}, "timestamp", "type"} tag data events,
 * one per MQTT message, a JSON array of them (HTTP POST), or objects written back to back (`}{`,
 * maybe with whitespace between) by the stream outputs. Management events share the envelope
 * (type heartbeat, gpi, gpo, error, warning, ...) and become the reader's health events.
 */
export const decodeZebra: FormatDecoder = (payload, context) => {
  const batch = emptyBatch()
  const text = payload.toString('utf8').trim()
  if (text === '') {
    batch.rejects.push(rejection('empty_batch', 'the payload is empty'))
    return batch
  }
  const values = parseValues(text)
  if (typeof values === 'string') {
    batch.rejects.push(rejection('malformed_json', values))
    return batch
  }
  const events = values.flatMap((value) => Array.isArray(value) ? value : [value])
  if (events.length === 0) batch.rejects.push(rejection('empty_batch', 'the payload is an empty array'))
  events.forEach((event, index) => {
    decodeEvent(event, context.deviceId, batch, events.length > 1 ? `event ${index}: ` : '')
  })
  return batch
}

function decodeEvent (event: unknown, readerId: string, batch: DecodedBatch, where: string): void {
  if (!isFields(event)) {
    batch.rejects.push(rejection('invalid_scan', `${where}not a JSON object`))
    return
  }
  const { data } = event
  // tag data events carry the operating mode as their type (SIMPLE, INVENTORY, CUSTOM, ...);
  // what makes them tag reads is the idHex, which heartbeats, GPI and other events lack
  if (!isFields(data) || !('idHex' in data)) {
    const type = typeof event.type === 'string' ? event.type.slice(0, 40) : 'unknown'
    const management = MANAGEMENT[type.toLowerCase()]
    if (management === undefined) {
      batch.rejects.push(rejection('unsupported_message', `${where}event type "${type}"`))
      return
    }
    const time = parseIsoTime(event.timestamp)
    const read = time === undefined ? `timestamp ${quote(event.timestamp)} is not an ISO 8601 time` : management(isFields(data) ? data : {})
    if (typeof read === 'string' || time === undefined) {
      batch.rejects.push(rejection('invalid_event', `${where}${type} event: ${String(read)}`))
      return
    }
    batch.events.push({ deviceId: readerId, time, ...read })
    return
  }
  const scan = toScan(event, data, readerId)
  if (typeof scan === 'string') batch.rejects.push(rejection('invalid_scan', `${where}${scan}`))
  else batch.scans.push(scan)
}

type Management = (data: Fields) => Pick<DeviceEvent, 'type' | 'detail'> | string

/** What each management event means for the reader's health; a string says why one cannot be read. */
const MANAGEMENT: Record<string, Management | undefined> = {
  heartbeat: (data) => ({ type: 'heartbeat', detail: heartbeatDetail(data) }),
  hello: () => ({ type: 'online', detail: { status: 'hello' } }),
  gpi: (data) => pin('gpi', data),
  gpo: (data) => pin('gpo', data),
  // antenna connect and disconnect alerts arrive as errors, in words Zebra does not document
  error: (data) => alert('error', data),
  warning: (data) => alert('warning', data),
  userapp: (data) => alert('info', data),
  firmwareupdateprogress: (data) => alert('info', data)
}

function pin (type: 'gpi' | 'gpo', { pin, state }: Fields): Pick<DeviceEvent, 'type' | 'detail'> | string {
  if (typeof pin !== 'number' || !Number.isInteger(pin) || pin < 1 || pin > 64) return 'data.pin is not a pin number'
  const level = typeof state === 'string' ? state.toLowerCase() : undefined
  if (level !== 'high' && level !== 'low') return 'data.state is neither HIGH nor LOW'
  return { type, detail: { pin, state: level } }
}

function alert (level: 'error' | 'warning' | 'info', { message, event }: Fields): Pick<DeviceEvent, 'type' | 'detail'> {
  const said = typeof message === 'string' ? message : typeof event === 'string' ? event : JSON.stringify({ message, event })
  return { type: 'reader_alert', detail: { level, message: said.slice(0, 500) } }
}

/**
 * The heartbeat's radio_control.antennas map ("1": "connected" | "disconnected") becomes
 * `antenna.<port>` entries; uptime and status are kept as they are. Field names differ between
 * firmware (systemTime, systemtime), so only these are read.
 */
function heartbeatDetail (data: Fields): DeviceEvent['detail'] {
  const detail: DeviceEvent['detail'] = {}
  const radio = isFields(data.radio_control) ? data.radio_control : {}
  if (typeof radio.status === 'string') detail.status = radio.status.slice(0, 40)
  if (typeof radio.uptime === 'string') detail.uptime = radio.uptime.slice(0, 40)
  if (isFields(radio.antennas)) {
    for (const [port, state] of Object.entries(radio.antennas)) {
      if (!/^\d{1,2}$/.test(port) || typeof state !== 'string') continue
      detail[`antenna.${Number(port)}`] = state.toLowerCase() === 'connected' ? 'connected' : 'disconnected'
    }
  }
  return detail
}

/** A Scan, or why the tag read cannot be one. */
function toScan (event: Fields, data: Fields, readerId: string): Scan | string {
  const { idHex, antenna } = data
  // peakRssi with the RSSI metadata on; the ATR7000 names it rssi
  const rssi = data.peakRssi ?? data.rssi
  if (typeof idHex !== 'string') return 'idHex is not a string'
  const time = parseIsoTime(event.timestamp)
  if (time === undefined) return `timestamp ${quote(event.timestamp)} is not an ISO 8601 time`
  // antenna and RSSI are optional tag metadata; a CUSTOM mode without them still reports the read
  if (antenna !== undefined && !isNumber(antenna)) return 'antenna is not a number'
  if (rssi !== undefined && !isNumber(rssi)) return 'peakRssi is not a number'
  const scan: Scan = { readerId, antenna: antenna ?? 0, epc: idHex.toUpperCase(), time }
  if (rssi !== undefined) scan.rssi = rssi
  return scan
}

/** Every top-level JSON value in the text, or the parse error. */
function parseValues (text: string): unknown[] | string {
  try {
    return [JSON.parse(text)]
  } catch (error) {
    const pieces = splitConcatenated(text)
    if (pieces === undefined || pieces.length < 2) return (error as Error).message
    const values: unknown[] = []
    for (const [index, piece] of pieces.entries()) {
      try {
        values.push(JSON.parse(piece))
      } catch (pieceError) {
        return `value ${index}: ${(pieceError as Error).message}`
      }
    }
    return values
  }
}

/**
 * Splits `{...}{...}` or `{...}\n[...]` at the depth-0 boundaries, honouring strings. Undefined
 * when something other than whitespace sits between values, or a value is left open.
 */
function splitConcatenated (text: string): string[] | undefined {
  const pieces: string[] = []
  let depth = 0
  let start = -1
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const char = text[i]
    if (inString) {
      if (char === '\\') i++
      else if (char === '"') inString = false
      continue
    }
    if (depth === 0) {
      if (char === '{' || char === '[') start = i
      else if (!/\s/.test(char ?? '')) return undefined
    }
    if (char === '"') inString = true
    else if (char === '{' || char === '[') depth++
    else if (char === '}' || char === ']') {
      depth--
      if (depth < 0) return undefined
      if (depth === 0) pieces.push(text.slice(start, i + 1))
    }
  }
  return depth === 0 && !inString ? pieces : undefined
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
