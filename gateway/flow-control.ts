import type { ReadBudget } from './packet-size-guard.js'

/** What one device has read and not yet answered, over all of its connections. */
interface DeviceShare {
  held: number
  connections: number
}

/**
 * Bounds the messages read from devices and not yet answered (their PUBACK waits for the commit):
 * at most `perDevice` for one device, however many connections it opens, and `overall` across
 * all of them. While the database is slow or away, that is what stops memory growing: once the
 * budget is spent, sockets are not read, and TCP pushes back on the devices.
 */
export class InflightBudget {
  private held = 0
  private peak = 0
  private readonly devices = new Map<string, DeviceShare>()
  /** Connections that found the budget spent, oldest first, with how to wake each. */
  private readonly waiting = new Map<ConnectionFlow, () => void>()
  /** Woken and not yet back to read: the room they were woken for is theirs. */
  private readonly woken = new Set<ConnectionFlow>()

  constructor (readonly perDevice: number, readonly overall: number) {}

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

  /** The most held at once since the last call (for a metric that must not miss a spike between scrapes). */
  takePeak (): number {
    const peak = this.peak
    this.peak = this.held
    return peak
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
    if (this.held > this.peak) this.peak = this.held
    if (delta < 0) this.wakeWaiting()
  }

  share (deviceId: string): DeviceShare {
    let share = this.devices.get(deviceId)
    if (share === undefined) {
      share = { held: 0, connections: 0 }
      this.devices.set(deviceId, share)
    }
    return share
  }

  /** Forgets a device with no connection and nothing held. */
  tidy (deviceId: string, share: DeviceShare): void {
    if (share.connections === 0 && share.held === 0) this.devices.delete(deviceId)
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
 * One connection's use of the budget. PUBLISH packets are counted when read (handed to the
 * broker) and released when answered. Until the device has authenticated they count against the
 * connection alone; then against the device. A packet read but never dispatched (the connection
 * failed first) is released when the connection closes.
 *
 * A connection stopped by its device's limit needs no waking: aedes tries to read again each time
 * it has finished with one of that connection's packets. One stopped by the overall limit may
 * have nothing of its own in flight, so the budget wakes it.
 */
export class ConnectionFlow implements ReadBudget {
  private read = 0
  private entered = 0
  /** Held before the device was known. */
  private own = 0
  private device: { id: string, share: DeviceShare } | undefined
  private closed = false

  constructor (private readonly budget: InflightBudget) {}

  /** The connection authenticated as this device: what it holds now counts against the device. */
  attach (deviceId: string): void {
    if (this.device !== undefined || this.closed) return
    const share = this.budget.share(deviceId)
    share.connections++
    share.held += this.own
    this.own = 0
    this.device = { id: deviceId, share }
  }

  allowance (): number {
    if (this.closed) return 0
    const held = this.device?.share.held ?? this.own
    return Math.min(this.budget.perDevice - held, this.budget.free())
  }

  took (count: number): void {
    this.budget.forget(this)
    if (count === 0) return
    this.read += count
    this.count(count)
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
    this.count(-1)
  }

  close (): void {
    if (this.closed) return
    this.closed = true
    this.budget.forget(this)
    const neverEntered = this.read - this.entered
    this.read = this.entered
    if (neverEntered > 0) this.count(-neverEntered)
    if (this.device !== undefined) {
      this.device.share.connections--
      this.budget.tidy(this.device.id, this.device.share)
    }
  }

  private count (delta: number): void {
    if (this.device === undefined) {
      this.own += delta
    } else {
      this.device.share.held += delta
      if (delta < 0 && this.closed) this.budget.tidy(this.device.id, this.device.share)
    }
    this.budget.change(delta)
  }
}
