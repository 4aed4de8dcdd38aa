import type { Channel, ParsedTopic } from '../../proto/topics.js'
import type { Fix, Scan } from '../../proto/types.js'
import type { IngestMessage } from '../ingest-message.js'
import { rejection } from '../rejects.js'
import type { Decoded } from './decoded.js'
import { decodeJsonFixes, decodeJsonScans } from './trackstream-json.js'
import { decodeProtobufFixes, decodeProtobufScans } from './trackstream-protobuf.js'

export type { Decoded } from './decoded.js'

export type DecodedMessage =
  | { channel: 'fix', decoded: Decoded<Fix> }
  | { channel: 'scan', decoded: Decoded<Scan> }

/** Decodes a payload published on a device's own topic into the pipeline's input. Pure. */
export function toIngestMessage (topic: string, parsed: ParsedTopic, payload: Buffer, receivedAt: number): IngestMessage {
  const message: IngestMessage = { deviceId: parsed.deviceId, topic, payload, receivedAt, fixes: [], scans: [], rejects: [] }
  if (parsed.channel === null) {
    message.rejects.push(rejection('unknown_channel', `"${parsed.rest}" is not fix or scan`))
    return message
  }
  const result = decodeMessage(parsed.deviceId, parsed.channel, payload)
  if (result.channel === 'fix') message.fixes = result.decoded.items
  else message.scans = result.decoded.items
  message.rejects = result.decoded.rejects
  return message
}

/** The payload format comes from its content: see sniff(). */
export function decodeMessage (deviceId: string, channel: Channel, payload: Buffer): DecodedMessage {
  return channel === 'fix'
    ? { channel, decoded: decodeEither(decodeJsonFixes, decodeProtobufFixes, deviceId, payload) }
    : { channel, decoded: decodeEither(decodeJsonScans, decodeProtobufScans, deviceId, payload) }
}

type Decoder<T> = (id: string, payload: Buffer) => Decoded<T>

function decodeEither<T> (json: Decoder<T>, protobuf: Decoder<T>, id: string, payload: Buffer): Decoded<T> {
  const format = sniff(payload)
  if (format === 'protobuf') return protobuf(id, payload)
  const decoded = json(id, payload)
  // protobuf bytes practically never parse as JSON, so a JSON parse failure settles it
  return format === 'json-or-protobuf' && decoded.rejects.some((r) => r.reason === 'malformed_json')
    ? protobuf(id, payload)
    : decoded
}

const LF = 0x0a

/**
 * Every non-empty trackstream protobuf batch starts with 0x0A (field 1, length-delimited), which
 * is also a newline. So a payload that starts with 0x0A and then looks like JSON is JSON if it
 * parses as JSON, and protobuf otherwise. Anything else is JSON if it starts with { or [ after
 * optional whitespace.
 */
function sniff (payload: Buffer): 'json' | 'protobuf' | 'json-or-protobuf' {
  const first = firstNonWhitespace(payload)
  const jsonShaped = first === 0x7b || first === 0x5b
  if (!jsonShaped) return 'protobuf'
  return payload[0] === LF ? 'json-or-protobuf' : 'json'
}

function firstNonWhitespace (payload: Buffer): number | undefined {
  for (const byte of payload) {
    if (byte !== 0x20 && byte !== 0x09 && byte !== LF && byte !== 0x0d) return byte
  }
  return undefined
}
