export interface RunPlan {
  /** trackers publish fixes; readers publish scans of their tags */
  kind?: 'fix' | 'scan'
  durationMs: number
  /** publishes per second per device */
  hz: number
  qos: 0 | 1
  /** fixes per message; for readers, reads of one tag per message (readers repeat a tag in range) */
  fixesPerMessage: number
  format: 'json' | 'protobuf'
  /** most QoS1 messages a device leaves unacknowledged */
  window: number
  /** how long to wait for the last acknowledgements */
  drainMs: number
}

export type FleetCommand =
  | { type: 'connect', host: string, port: number, ids: string[], secret: string, offset: number, tags?: string[][] }
  | { type: 'run', plan: RunPlan }
  | { type: 'close' }

export interface FleetCounts {
  sent: number
  sentFixes: number
  acked: number
  ackedFixes: number
  heldBack: number
}

export type FleetReport =
  | { type: 'connected', count: number, failed: number }
  | ({ type: 'progress' } & FleetCounts)
  | ({ type: 'done', unacked: number, ackLatency: { counts: number[] } } & FleetCounts)
