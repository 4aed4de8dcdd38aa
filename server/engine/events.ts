import type { CustodyRow, LivePosition, MilestoneRow } from '../model.js'

/** What happens in the engine that other parts of this process follow. */
export interface EngineEvents {
  /** Positions accepted (not yet committed): for the ETA speeds and each device's latest position. */
  positions: readonly LivePosition[]
  /** Milestones committed to the database: for the webhook dispatcher, the lane statistics, the ETAs. */
  committed: readonly MilestoneRow[]
  /** Custody moves committed to the database: for the other instances, which apply them too. */
  custodyCommitted: readonly CustodyRow[]
}

type Listener<T> = (payload: T) => void

/**
 * A typed event map whose emit isolates listeners from each other and from the emitter: a
 * listener that throws is reported (logged and counted by the caller's `onError`) and the rest
 * still run. So a bug in, say, the ETA listener can never fail a tracker's ingest, and is never
 * swallowed without a word either.
 */
export class Events<M extends object = EngineEvents> {
  private readonly listeners = new Map<keyof M, Set<Listener<never>>>()

  constructor (private readonly onError: (event: keyof M, error: unknown) => void) {}

  on<K extends keyof M> (event: K, listener: Listener<M[K]>): () => void {
    let set = this.listeners.get(event)
    if (set === undefined) {
      set = new Set()
      this.listeners.set(event, set)
    }
    set.add(listener as Listener<never>)
    return () => { set.delete(listener as Listener<never>) }
  }

  emit<K extends keyof M> (event: K, payload: M[K]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        (listener as Listener<M[K]>)(payload)
      } catch (error) {
        this.onError(event, error)
      }
    }
  }
}
