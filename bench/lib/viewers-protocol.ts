export type ViewerCommand =
  | { type: 'open', urls: string[], headers: Record<string, string>, viewports?: Array<[number, number, number, number] | null> }
  | { type: 'reset' }
  | { type: 'report' }
  | { type: 'close' }

export type ViewerReport =
  | { type: 'opened', count: number, failed: number }
  | { type: 'reset' }
  | { type: 'report', latency: { counts: number[] }, frames: number, items: number }
