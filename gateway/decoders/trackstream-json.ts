import { Ajv, type ErrorObject } from 'ajv'
import { fixJsonSchema, scanJsonSchema } from '../../proto/json-schema.js'
import type { Fix, Scan } from '../../proto/types.js'
import { rejection, type RejectReason } from '../rejects.js'
import { refused, type Decoded } from './decoded.js'
import { parseIsoTime } from './iso-time.js'

const ajv = new Ajv({ strict: false })

interface FixJson {
  deviceId?: string
  time: string | number
  lat: number
  lon: number
  speed?: number
  heading?: number
  accuracy?: number
  altitude?: number
  battery?: number
  seq?: number
}

interface ScanJson {
  readerId?: string
  antenna?: number
  epc: string
  rssi?: number
  time: string | number
}

interface BatchSpec<J, T> {
  batchKey: string
  idKey: 'deviceId' | 'readerId'
  validate: Validator<J>
  invalidReason: RejectReason
  convert: (item: J, topicId: string) => T
}

interface Validator<T> {
  (data: unknown): data is T
  errors?: ErrorObject[] | null
}

const fixSpec: BatchSpec<FixJson, Fix> = {
  batchKey: 'fixes',
  idKey: 'deviceId',
  validate: ajv.compile<FixJson>(fixJsonSchema),
  invalidReason: 'invalid_fix',
  convert: (item, deviceId) => ({
    deviceId,
    time: toMillis(item.time),
    lat: item.lat,
    lon: item.lon,
    speed: item.speed,
    heading: item.heading,
    accuracy: item.accuracy,
    altitude: item.altitude,
    battery: item.battery,
    seq: item.seq
  })
}

const scanSpec: BatchSpec<ScanJson, Scan> = {
  batchKey: 'scans',
  idKey: 'readerId',
  validate: ajv.compile<ScanJson>(scanJsonSchema),
  invalidReason: 'invalid_scan',
  convert: (item, readerId) => ({
    readerId,
    antenna: item.antenna ?? 0,
    epc: item.epc.toUpperCase(),
    rssi: item.rssi,
    time: toMillis(item.time)
  })
}

/** Accepts one fix, an array of fixes, or the FixBatch form { "fixes": [...] }. */
export function decodeJsonFixes (deviceId: string, payload: Buffer): Decoded<Fix> {
  return decodeJsonBatch(fixSpec, deviceId, payload)
}

/** Accepts one scan, an array of scans, or the ScanBatch form { "scans": [...] }. */
export function decodeJsonScans (readerId: string, payload: Buffer): Decoded<Scan> {
  return decodeJsonBatch(scanSpec, readerId, payload)
}

function decodeJsonBatch<J extends Partial<Record<BatchSpec<J, T>['idKey'], string>>, T> (
  spec: BatchSpec<J, T>,
  topicId: string,
  payload: Buffer
): Decoded<T> {
  let parsed: unknown
  try {
    parsed = JSON.parse(payload.toString('utf8'))
  } catch (error) {
    return refused([rejection('malformed_json', (error as Error).message)])
  }
  const list = toList(parsed, spec.batchKey)
  if (list.length === 0) return refused([rejection('empty_batch')])
  const decoded: Decoded<T> = { items: [], rejects: [] }
  list.forEach((item, index) => {
    if (!spec.validate(item)) {
      decoded.rejects.push(rejection(spec.invalidReason, `item ${index}: ${describe(spec.validate.errors)}`))
      return
    }
    const claimedId = item[spec.idKey]
    if (claimedId !== undefined && claimedId !== topicId) {
      decoded.rejects.push(rejection('device_mismatch', `item ${index}: ${spec.idKey} "${claimedId}" is not "${topicId}" from the topic`))
      return
    }
    decoded.items.push(spec.convert(item, topicId))
  })
  return decoded
}

function toList (parsed: unknown, batchKey: string): unknown[] {
  if (Array.isArray(parsed)) return parsed
  if (typeof parsed === 'object' && parsed !== null && batchKey in parsed) {
    const batch = (parsed as Record<string, unknown>)[batchKey]
    if (Array.isArray(batch)) return batch
  }
  return [parsed]
}

function toMillis (time: string | number): number {
  // the schema has checked the shape; NaN is left for validation to refuse as a missing time
  return typeof time === 'number' ? time : parseIsoTime(time) ?? Number.NaN
}

function describe (errors: ErrorObject[] | null | undefined): string {
  const first = errors?.[0]
  if (first === undefined) return 'does not match the schema'
  const where = first.instancePath === '' ? 'the item' : first.instancePath.slice(1)
  return `${where} ${first.message ?? 'is invalid'}`
}
