export type ViewerCommand =
  | {
    type: 'open'
    urls: string[]
    headers: Record<string, string>
    viewports?: Array<[number, number, number, number] | null>
    /** the ops feed's format, asked for with the viewport; JSON when absent */
    format?: 'json' | 'protobuf'
    /** which viewers decode frames and measure latency, aligned with urls; the others count bytes (default: all decode) */
    decode?: boolean[]
  }
  | { type: 'reset' }
  | { type: 'report' }
  | { type: 'close' }

export interface ViewerCounts {
  /** frames with positions or milestones, and the items in those a decoding viewer read */
  frames: number
  items: number
  /** payload bytes of those frames */
  bytes: number
  /** the same with each WebSocket frame header: what crossed the socket, less TCP/IP */
  wireBytes: number
  /** snapshots after the first per viewport, i.e. resyncs of congested viewers, and their bytes */
  snapshots: number
  snapshotBytes: number
}

export type ViewerReport =
  | { type: 'opened', count: number, failed: number }
  | { type: 'reset' }
  | ({ type: 'report', latency: { counts: number[] } } & ViewerCounts)
