import { Ajv, type ErrorObject } from 'ajv'
import { driverEventJsonSchema } from '../../proto/json-schema.js'
import type { AttemptReason, DriverEvent, DriverEventType } from '../../proto/types.js'
import { rejection } from '../rejects.js'
import { emptyBatch, type DecodeContext, type DecodedBatch } from './format.js'
import { parseIsoTime } from './iso-time.js'

const ajv = new Ajv({ strict: false })

interface DriverEventJson {
  deviceId?: string
  type: DriverEventType
  parcel: string
  time: string | number
  lat?: number
  lon?: number
  reason?: AttemptReason
  proof?: { kind: 'photo' | 'signature' | 'pin', ref: string }
  cod?: { amount: string | number, currency: string, method?: 'cash' | 'card' | 'qr' }
  recipient?: string
  note?: string
}

const validate = ajv.compile<DriverEventJson>(driverEventJsonSchema)

/**
 * The driver app's JSON on ts/v1/<deviceId>/driver (and POST /api/driver/events): one event, an
 * array, or { "events": [...] }. Whatever format the device's positions use, this is trackstream's own.
 */
export function decodeDriverEvents (payload: Buffer, { deviceId }: DecodeContext): DecodedBatch {
  const batch = emptyBatch()
  let parsed: unknown
  try {
    parsed = JSON.parse(payload.toString('utf8'))
  } catch (error) {
    batch.rejects.push(rejection('malformed_json', (error as Error).message))
    return batch
  }
  const list = Array.isArray(parsed)
    ? parsed
    : typeof parsed === 'object' && parsed !== null && Array.isArray((parsed as { events?: unknown }).events)
      ? (parsed as { events: unknown[] }).events
      : [parsed]
  if (list.length === 0) batch.rejects.push(rejection('empty_batch'))
  list.forEach((item, index) => {
    if (!validate(item)) {
      batch.rejects.push(rejection('invalid_driver_event', `event ${index}: ${describe(validate.errors)}`))
      return
    }
    if (item.deviceId !== undefined && item.deviceId !== deviceId) {
      batch.rejects.push(rejection('device_mismatch', `event ${index}: deviceId "${item.deviceId}" is not "${deviceId}"`))
      return
    }
    batch.driverEvents.push(toEvent(item, deviceId))
  })
  return batch
}

function toEvent (item: DriverEventJson, deviceId: string): DriverEvent {
  const event: DriverEvent = {
    deviceId,
    type: item.type,
    parcel: item.parcel,
    // NaN is left for validation to refuse as a missing time
    time: typeof item.time === 'number' ? item.time : parseIsoTime(item.time) ?? Number.NaN
  }
  if (item.lat !== undefined && item.lon !== undefined) {
    event.lat = item.lat
    event.lon = item.lon
  }
  if (item.reason !== undefined) event.reason = item.reason
  if (item.proof !== undefined) event.proof = { kind: item.proof.kind, ref: item.proof.ref }
  if (item.cod !== undefined) event.cod = { amount: String(item.cod.amount), currency: item.cod.currency, ...(item.cod.method === undefined ? {} : { method: item.cod.method }) }
  if (item.recipient !== undefined) event.recipient = item.recipient
  if (item.note !== undefined) event.note = item.note
  return event
}

function describe (errors: ErrorObject[] | null | undefined): string {
  const first = errors?.find((error) => error.keyword !== 'if') ?? errors?.[0]
  if (first === undefined) return 'does not match the schema'
  const where = first.instancePath === '' ? 'the event' : first.instancePath.slice(1)
  const allowed = first.keyword === 'enum' ? `: one of ${(first.params as { allowedValues: unknown[] }).allowedValues.join(', ')}` : ''
  return `${where} ${first.message ?? 'is invalid'}${allowed}`
}
