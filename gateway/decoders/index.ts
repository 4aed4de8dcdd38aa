import { isUtf8 } from 'node:buffer'
import type { Channel } from '../../proto/topics.js'
import type { IngestMessage } from '../ingest-message.js'
import { rejection } from '../rejects.js'
import type { RoutableDevice, Route } from '../routing.js'
import { decodeChirpstack } from './chirpstack.js'
import { decodeDriverEvents } from './driver-event.js'
import { emptyBatch, type DecodeContext, type DecodedBatch, type DeviceFormat, type FormatDecoder } from './format.js'
import { guessFormat } from './guess-format.js'
import { decodeImpinj } from './impinj.js'
import { decodeNmea } from './nmea.js'
import { decodeOsmAndJson } from './osmand.js'
import { decodeOwnTracks } from './owntracks.js'
import { decodeTrackstream } from './trackstream.js'
import { decodeTtn } from './ttn.js'
import { decodeZebra } from './zebra.js'

const FORMAT_DECODERS: Record<Exclude<DeviceFormat, 'trackstream'>, FormatDecoder> = {
  owntracks: decodeOwnTracks,
  // over MQTT and the generic HTTP route OsmAnd clients send their JSON form; /osmand takes the query form too
  osmand: decodeOsmAndJson,
  nmea: decodeNmea,
  impinj: decodeImpinj,
  zebra: decodeZebra,
  ttn: decodeTtn,
  chirpstack: decodeChirpstack
}

/** Decodes a payload in the format the device is registered with; driver events are always trackstream's own. */
export function decodeAs (format: DeviceFormat, channel: Channel, payload: Buffer, context: DecodeContext): DecodedBatch {
  // JSON formats are UTF-8 (RFC 8259); decoding bad bytes would swap them for U+FFFD unseen. NMEA
  // is checked sentence by sentence (a receiver's line noise between sentences is normal), and
  // trackstream's own payloads may be protobuf: its decoder tells
  if ((channel === 'driver' || (format !== 'trackstream' && format !== 'nmea')) && !isUtf8(payload)) {
    return { ...emptyBatch(), rejects: [rejection('invalid_text', `the payload is not valid UTF-8, as the ${channel === 'driver' ? 'driver event' : format} format must be`)] }
  }
  if (channel === 'driver') return decodeDriverEvents(payload, context)
  const batch = format === 'trackstream'
    ? decodeTrackstream(channel, payload, context)
    : FORMAT_DECODERS[format](payload, context)
  return explainWrongFormat(batch, format, payload)
}

/** A message published on MQTT, already authorised for its topic (gateway/routing.ts). */
export function decodeRouted (device: RoutableDevice, route: Route, topic: string, payload: Buffer, receivedAt: number): IngestMessage {
  const context: DecodeContext = { deviceId: device.id, topic, receivedAt }
  let batch: DecodedBatch
  if (route.tree === 'trackstream') {
    batch = route.channel === null
      ? { ...emptyBatch(), rejects: [rejection('unknown_channel', `"${route.rest}" is not fix, scan or driver`)] }
      : decodeAs(device.format, route.channel, payload, context)
  } else {
    // the topic tree names the format: routing only lets a device of that format publish there
    batch = decodeAs(route.tree, 'fix', payload, context)
  }
  return { deviceId: device.id, topic, payload, receivedAt, ...batch }
}

function explainWrongFormat (batch: DecodedBatch, format: DeviceFormat, payload: Buffer): DecodedBatch {
  const nothingRead = batch.fixes.length === 0 && batch.scans.length === 0 && batch.events.length === 0 && batch.driverEvents.length === 0
  if (!nothingRead || batch.rejects.length === 0) return batch
  const guess = guessFormat(payload)
  if (guess === null || guess === format) return batch
  return {
    ...batch,
    rejects: [rejection('wrong_format', `this looks like ${guess}, but the device is registered as ${format}: change the device's format or its settings`)]
  }
}
