import type { ReadBudget } from './packet-size-guard.js'

/**
 * Bounds the messages read from devices and not yet answered (their PUBACK waits for the commit):
 * at most `perConnection` on one connection and `overall` across all of them. While the database
 * is slow or away, that is what stops memory growing: once the budget is spent, sockets are not
 * read, and TCP pushes back on the devices.
 */
export class InflightBudget {
  private held = 0
  /** Connections that found the budget spent, oldest first, with how to wake each. */
  private readonly waiting = new Map<ConnectionFlow, () => void>()
  /** Woken and not yet back to read: the room they were woken for is theirs. */
  private readonly woken = new Set<ConnectionFlow>()

  constructor (readonly perConnection: number, readonly overall: number) {}

  open (): ConnectionFlow {
    return new ConnectionFlow(this)
  }

  /** Messages held now, on every connection (HTTP ingest included). */
  get inflight (): number {
    return this.held
  }

  /** True when nothing more may be taken in: HTTP ingest answers 503 then. */
  get exhausted (): boolean {
    return this.held >= this.overall
  }

  /** Room left overall. */
  free (): number {
    return Math.max(0, this.overall - this.held)
  }

  /** For a message that does not come through a socket read (HTTP ingest). */
  hold (): () => void {
    this.change(1)
    let released = false
    return () => {
      if (released) return
      released = true
      this.change(-1)
    }
  }

  change (delta: number): void {
    this.held += delta
    if (delta < 0) this.wakeWaiting()
  }

  /** A connection stopped for lack of room overall: woken, oldest first, as room frees. */
  wait (flow: ConnectionFlow, wake: () => void): void {
    this.waiting.set(flow, wake)
  }

  /** The connection read again, or closed: it no longer waits, nor holds room it was woken for. */
  forget (flow: ConnectionFlow): void {
    this.waiting.delete(flow)
    this.woken.delete(flow)
  }

  private wakeWaiting (): void {
    let room = this.free() - this.woken.size
    for (const [flow, wake] of this.waiting) {
      if (room <= 0) break
      this.waiting.delete(flow)
      this.woken.add(flow)
      room--
      setImmediate(wake)
    }
  }
}

/**
 * One connection's share. PUBLISH packets are counted when read (handed to the broker), and
 * released when answered. A packet read but never dispatched (the connection failed first) is
 * released when the connection closes.
 *
 * A connection stopped by its own limit needs no waking: aedes tries to read again each time it
 * has finished with one of that connection's packets. One stopped by the overall limit may have
 * nothing of its own in flight, so the budget wakes it.
 */
export class ConnectionFlow implements ReadBudget {
  private read = 0
  private entered = 0
  private answered = 0
  private closed = false

  constructor (private readonly budget: InflightBudget) {}

  allowance (): number {
    if (this.closed) return 0
    return Math.min(this.budget.perConnection - (this.read - this.answered), this.budget.free())
  }

  took (count: number): void {
    this.budget.forget(this)
    if (count === 0) return
    this.read += count
    this.budget.change(count)
  }

  waitFor (wake: () => void): void {
    this.budget.forget(this)
    if (!this.closed && this.budget.free() <= 0) this.budget.wait(this, wake)
  }

  /** The broker began handling one of the packets read. */
  enter (): void {
    this.entered++
  }

  /** One entered packet was answered (acknowledged or refused). */
  answer (): void {
    this.answered++
    this.budget.change(-1)
  }

  close (): void {
    if (this.closed) return
    this.closed = true
    this.budget.forget(this)
    const neverEntered = this.read - this.entered
    this.read = this.entered
    if (neverEntered > 0) this.budget.change(-neverEntered)
  }
}
