import type { LiveFramePosition } from '../../proto/live-codec.js'
import type { MilestoneRow } from '../pipeline/write-set.js'

/** A vehicle's newest position, as the live feeds carry it (the wire contract defines it). */
export type LivePosition = LiveFramePosition

/** When a parcel should arrive: from its van's route while out for delivery, from its lane before. */
export interface ParcelEta {
  parcelId: string
  /** ms since the Unix epoch */
  eta: number
  basis: 'route' | 'lane'
}

export type LiveEvent =
  | { kind: 'positions', positions: LivePosition[] }
  | { kind: 'milestones', milestones: MilestoneRow[] }
  | { kind: 'etas', etas: ParcelEta[] }

/**
 * How committed telemetry reaches the viewers of every instance. In process by default; a Redis
 * pub/sub implementation of the same interface lets a viewer on instance B see a fix that arrived
 * at instance A.
 */
export interface LiveBus {
  publish: (event: LiveEvent) => void
  subscribe: (listener: (event: LiveEvent) => void) => () => void
}

export class LocalBus implements LiveBus {
  private readonly listeners = new Set<(event: LiveEvent) => void>()

  publish (event: LiveEvent): void {
    for (const listener of this.listeners) listener(event)
  }

  subscribe (listener: (event: LiveEvent) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }
}
