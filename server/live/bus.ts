import type { LivePosition, MilestoneRow, ParcelEta } from '../model.js'

export type LiveEvent =
  | { kind: 'positions', positions: LivePosition[] }
  | { kind: 'milestones', milestones: MilestoneRow[] }
  | { kind: 'etas', etas: ParcelEta[] }

/**
 * How telemetry reaches the viewers (the ops map, the buyers' pages) of every instance, and
 * nothing else: the engine's own listeners follow its typed events (engine/events.ts). In process
 * by default; a Redis pub/sub implementation of the same interface lets a viewer on instance B see
 * a fix that arrived at instance A.
 */
export interface LiveBus {
  publish: (event: LiveEvent) => void
  subscribe: (listener: (event: LiveEvent) => void) => () => void
}

/** In process. A viewer's listener that throws is reported and never reaches the publisher (a tracker's ingest) or the other viewers. */
export class LocalBus implements LiveBus {
  private readonly listeners = new Set<(event: LiveEvent) => void>()

  constructor (private readonly onError: (error: unknown, event: LiveEvent) => void = () => {}) {}

  publish (event: LiveEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event)
      } catch (error) {
        this.onError(error, event)
      }
    }
  }

  subscribe (listener: (event: LiveEvent) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }
}
