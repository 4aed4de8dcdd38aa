import { ATTEMPT_REASON_CODES, DRIVER_EVENT_TYPES } from './types.js'

/**
 * JSON forms of the wire messages. Field names are the camelCase of telemetry.proto, except that
 * time is `time` (ISO 8601 with a zone, or epoch milliseconds) rather than `time_ms`.
 * These schemas check shape and types only: value ranges are checked once, for every format,
 * by the pipeline's validation stage.
 */
export const ISO_TIME_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:?\\d{2})$'

const time = {
  description: 'ISO 8601 date-time with a zone, or milliseconds since the Unix epoch',
  anyOf: [
    { type: 'string', pattern: ISO_TIME_PATTERN },
    { type: 'integer', minimum: 0 }
  ]
} as const


const optionalNumber = (description: string) => ({ type: 'number', description }) as const

export const fixJsonSchema = {
  $id: 'trackstream/v1/Fix',
  type: 'object',
  required: ['time', 'lat', 'lon'],
  additionalProperties: true,
  properties: {
    deviceId: { type: 'string', description: 'Optional; must match the topic if given' },
    time,
    lat: { type: 'number', description: 'WGS84 degrees' },
    lon: { type: 'number', description: 'WGS84 degrees' },
    speed: optionalNumber('m/s'),
    heading: optionalNumber('degrees clockwise from true north'),
    accuracy: optionalNumber('horizontal accuracy, metres'),
    altitude: optionalNumber('metres above mean sea level'),
    battery: optionalNumber('percent'),
    seq: { type: 'integer', minimum: 0, maximum: 4294967295, description: 'per-device message counter' }
  }
} as const

export const scanJsonSchema = {
  $id: 'trackstream/v1/Scan',
  type: 'object',
  required: ['epc', 'time'],
  additionalProperties: true,
  properties: {
    readerId: { type: 'string', description: 'Optional; must match the topic if given' },
    antenna: { type: 'integer', description: 'antenna port, from 1; 0 or absent if unknown' },
    epc: { type: 'string', description: 'hexadecimal EPC' },
    rssi: optionalNumber('dBm'),
    time
  }
} as const

/** What a driver records at the door; see CONTRACT.md. Reasons, proof and cash are checked here, the time by the pipeline. */
export const driverEventJsonSchema = {
  $id: 'trackstream/v1/DriverEvent',
  type: 'object',
  required: ['type', 'parcel', 'time'],
  additionalProperties: false,
  properties: {
    deviceId: { type: 'string', description: 'Optional; must match the topic if given' },
    type: { type: 'string', enum: DRIVER_EVENT_TYPES },
    parcel: { type: 'string', minLength: 1, maxLength: 64, description: 'the tracking number on the label' },
    time,
    lat: { type: 'number', minimum: -90, maximum: 90 },
    lon: { type: 'number', minimum: -180, maximum: 180 },
    reason: { type: 'string', enum: ATTEMPT_REASON_CODES },
    proof: {
      type: 'object',
      required: ['kind', 'ref'],
      additionalProperties: false,
      properties: {
        kind: { type: 'string', enum: ['photo', 'signature', 'pin'] },
        ref: { type: 'string', minLength: 1, maxLength: 1000, description: 'where the photo or signature is kept: an object-store key or URL' }
      }
    },
    cod: {
      type: 'object',
      required: ['amount', 'currency'],
      additionalProperties: false,
      properties: {
        amount: {
          description: 'the cash collected; a decimal string is safest',
          anyOf: [{ type: 'string', pattern: '^\\d{1,12}(\\.\\d{1,4})?$' }, { type: 'number', minimum: 0, maximum: 1e12 }]
        },
        currency: { type: 'string', pattern: '^[A-Z]{3}$', description: 'ISO 4217' },
        method: { type: 'string', enum: ['cash', 'card', 'qr'], description: 'how the buyer paid at the door: cash goes into the driver\'s hands, card and QR wallet payments to the operator\'s payment provider; cash when absent' }
      }
    },
    recipient: { type: 'string', maxLength: 200, description: 'who took the parcel' },
    note: { type: 'string', maxLength: 1000 }
  },
  allOf: [
    { if: { properties: { type: { const: 'attempt_failed' } } }, then: { required: ['reason'] } },
    { if: { properties: { type: { const: 'cod_collected' } } }, then: { required: ['cod'] } }
  ]
} as const
