import { isUtf8 } from 'node:buffer'
import type { Channel } from '../../proto/topics.js'
import { rejection } from '../rejects.js'
import { refused, type Decoded } from './decoded.js'
import { emptyBatch, type DecodeContext, type DecodedBatch } from './format.js'
import { decodeJsonFixes, decodeJsonScans } from './trackstream-json.js'
import { decodeProtobufFixes, decodeProtobufScans } from './trackstream-protobuf.js'

/** trackstream's own JSON and protobuf, on the fix or scan channel; the content says which of the two. */
export function decodeTrackstream (channel: Channel, payload: Buffer, { deviceId }: DecodeContext): DecodedBatch {
  if (channel === 'fix') {
    const { items, rejects } = decodeEither(decodeJsonFixes, decodeProtobufFixes, deviceId, payload)
    return { ...emptyBatch(), fixes: items, rejects }
  }
  const { items, rejects } = decodeEither(decodeJsonScans, decodeProtobufScans, deviceId, payload)
  return { ...emptyBatch(), scans: items, rejects }
}

type Decoder<T> = (id: string, payload: Buffer) => Decoded<T>

function decodeEither<T> (json: Decoder<T>, protobuf: Decoder<T>, id: string, payload: Buffer): Decoded<T> {
  const format = sniff(payload)
  if (format === 'protobuf') return protobuf(id, payload)
  if (!isUtf8(payload)) {
    // JSON is UTF-8 (RFC 8259); bytes that are not could only be protobuf
    return format === 'json' ? refused([rejection('invalid_text', 'the payload looks like JSON but is not valid UTF-8')]) : protobuf(id, payload)
  }
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
