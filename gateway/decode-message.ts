import { decodeRouted } from './decoders/index.js'
import type { IngestMessage } from './ingest-message.js'
import { rejection } from './rejects.js'
import type { RoutableDevice, Route } from './routing.js'

/**
 * Decoders never throw by contract (and are fuzzed to hold to it); should one still, the message
 * is refused and kept like any other, never left to take down the broker or loop as a resend.
 */
export function decodeMessage (
  device: RoutableDevice,
  route: Route,
  topic: string,
  payload: Buffer,
  receivedAt: number,
  log: { warn: (obj: object, msg: string) => void }
): IngestMessage {
  try {
    return decodeRouted(device, route, topic, payload, receivedAt)
  } catch (error) {
    log.warn({ device: device.id, topic, err: (error as Error).message }, 'a decoder threw; the message is refused and kept')
    return { deviceId: device.id, topic, payload, receivedAt, fixes: [], scans: [], events: [], driverEvents: [], rejects: [rejection('stage_failed', `the ${device.format} decoder failed: ${(error as Error).message}`)] }
  }
}
