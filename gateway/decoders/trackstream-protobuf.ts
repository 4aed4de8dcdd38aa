import { decodeFixBatch, decodeScanBatch, longToNumber, type WireFix, type WireScan } from '../../proto/codec.js'
import type { Fix, Scan } from '../../proto/types.js'
import { rejection, type Rejection } from '../rejects.js'
import { refused, type Decoded } from './decoded.js'

/** A trackstream.v1.FixBatch. */
export function decodeProtobufFixes (deviceId: string, payload: Buffer): Decoded<Fix> {
  return decodeProtobufBatch(payload, decodeFixBatch, (wire, index) =>
    wire.deviceId !== '' && wire.deviceId !== deviceId
      ? mismatch(index, 'device_id', wire.deviceId, deviceId)
      : {
          deviceId,
          time: longToNumber(wire.timeMs),
          lat: wire.lat,
          lon: wire.lon,
          speed: wire.speed ?? undefined,
          heading: wire.heading ?? undefined,
          accuracy: wire.accuracy ?? undefined,
          altitude: wire.altitude ?? undefined,
          battery: wire.battery ?? undefined,
          seq: wire.seq ?? undefined
        })
}

/** A trackstream.v1.ScanBatch. */
export function decodeProtobufScans (readerId: string, payload: Buffer): Decoded<Scan> {
  return decodeProtobufBatch(payload, decodeScanBatch, (wire, index) =>
    wire.readerId !== '' && wire.readerId !== readerId
      ? mismatch(index, 'reader_id', wire.readerId, readerId)
      : {
          readerId,
          antenna: wire.antenna,
          epc: wire.epc.toUpperCase(),
          rssi: wire.rssi ?? undefined,
          time: longToNumber(wire.timeMs)
        })
}

function decodeProtobufBatch<W extends WireFix | WireScan, T> (
  payload: Buffer,
  decode: (payload: Buffer) => W[],
  convert: (wire: W, index: number) => T | Mismatch
): Decoded<T> {
  let list: W[]
  try {
    list = decode(payload)
  } catch (error) {
    return refused([rejection('malformed_protobuf', (error as Error).message)])
  }
  // protobuf skips unknown fields, so random bytes often decode to an empty batch
  if (list.length === 0) return refused([rejection('empty_batch', 'no fixes or scans decoded; is this a trackstream.v1 batch?')])
  const decoded: Decoded<T> = { items: [], rejects: [] }
  list.forEach((wire, index) => {
    const item = convert(wire, index)
    if (item instanceof Mismatch) decoded.rejects.push(item.rejection)
    else decoded.items.push(item)
  })
  return decoded
}

class Mismatch {
  constructor (readonly rejection: Rejection) {}
}

function mismatch (index: number, field: string, claimed: string, topicId: string): Mismatch {
  return new Mismatch(rejection('device_mismatch', `item ${index}: ${field} "${claimed}" is not "${topicId}" from the topic`))
}
