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
