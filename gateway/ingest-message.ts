import type { DriverEvent, Fix, Scan } from '../proto/types.js'
import type { DeviceEvent } from './decoders/format.js'
import type { Rejection } from './rejects.js'

/** One device message after decoding: what the gateway hands to the pipeline, whatever the transport. */
export interface IngestMessage {
  deviceId: string
  topic: string
  payload: Buffer
  receivedAt: number
  fixes: Fix[]
  scans: Scan[]
  events: DeviceEvent[]
  driverEvents: DriverEvent[]
  rejects: Rejection[]
}

/** Resolves once the message is committed, with every item refused and why. */
export type Ingest = (message: IngestMessage) => Promise<Rejection[]>
