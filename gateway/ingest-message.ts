import type { Fix, Scan } from '../proto/types.js'
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
  rejects: Rejection[]
}

export type Ingest = (message: IngestMessage) => Promise<void>
