import { claimDueDeliveries, fanOutEvents, recordAttempt, type AttemptOutcome, type DueDelivery } from '../db/queries/webhook-dispatch.js'
import type { Sql } from '../db/sql.js'
import { RecurringProblem } from '../util/recurring-problem.js'
import { retryDelayMs, shouldRetry } from './backoff.js'
import { postWebhook } from './send.js'

export interface DispatcherLog {
  info: (object: object, message: string) => void
  warn: (object: object, message: string) => void
  debug: (object: object, message: string) => void
}

export interface DispatcherOptions {
  sql: Sql
  now: () => number
  log: DispatcherLog
  /** How long to sleep between rounds when nothing wakes the dispatcher earlier. */
  pollMs: number
  /** Per request. */
  timeoutMs: number
  /** The first retry's delay (see backoff.ts). */
  retryBaseMs: number
  /** Deliveries in flight at once to one subscription, across every instance. */
  concurrency: number
  /** Deliveries in flight at once from this instance, to all subscriptions. */
  maxInFlight?: number
  /** Events fanned out per query. */
  batchSize?: number
  /** WEBHOOK_ALLOW_PRIVATE: deliveries to loopback and private addresses are allowed. */
  allowPrivate?: boolean
}

/** A round fans out while there is a full batch to do, but at most this many batches. */
const MAX_BATCHES_PER_ROUND = 10
/** Slack on top of the request timeout before a claimed delivery may be taken by another instance. */
const LEASE_SLACK_MS = 10_000

/**
 * Moves events from the outbox to the receivers. One loop per instance: fan new events out into
 * deliveries, claim the due ones there is room for, and start their POSTs; then sleep until the
 * next poll or until woken (a milestone was committed here, a ping or a retry was asked for, a
 * delivery finished and freed a slot). Each subscription is its own queue with its own few slots
 * (WEBHOOK_CONCURRENCY), so a receiver that hangs for its whole timeout only delays itself.
 *
 * Everything it knows is in the database, so it can stop at any moment and start again, here or on
 * another instance. A database that goes away is logged and tried again on the next round.
 */
export class Dispatcher {
  private readonly batchSize: number
  private readonly maxInFlight: number
  private readonly shutdown = new AbortController()
  private readonly inFlight = new Set<Promise<void>>()
  private running: Promise<void> | undefined
  private stopped = false
  private woken = false
  private interruptSleep: (() => void) | undefined
  /** An outage is one line at warn, not one per poll. */
  private readonly problem: RecurringProblem

  constructor (private readonly options: DispatcherOptions) {
    this.batchSize = options.batchSize ?? 50
    this.maxInFlight = options.maxInFlight ?? 64
    this.problem = new RecurringProblem(options.log, 'webhook dispatcher: using the database')
  }

  start (): void {
    if (this.running !== undefined || this.stopped) return
    this.running = this.loop()
  }

  /** Runs a round now instead of at the next poll. */
  wake (): void {
    this.woken = true
    this.interruptSleep?.()
  }

  /** Stops polling and interrupts requests in flight (recorded as failed attempts, retried later). */
  async stop (): Promise<void> {
    this.stopped = true
    this.shutdown.abort()
    this.interruptSleep?.()
    await this.running
    await Promise.all(this.inFlight)
  }

  private async loop (): Promise<void> {
    while (!this.stopped) {
      this.woken = false
      await this.round()
      if (!this.stopped && !this.woken) await this.sleep(this.options.pollMs)
    }
  }

  private async sleep (ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        this.interruptSleep = undefined
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.interruptSleep = done
    })
  }

  /** One round: fans out, then starts what there is room for without waiting for it; never throws. */
  async round (): Promise<void> {
    const { sql, now, timeoutMs, concurrency } = this.options
    try {
      for (let batch = 0; batch < MAX_BATCHES_PER_ROUND && !this.stopped; batch++) {
        if (await fanOutEvents(sql, now(), this.batchSize) < this.batchSize) break
      }
      const room = this.maxInFlight - this.inFlight.size
      if (room > 0 && !this.stopped) {
        const due = await claimDueDeliveries(sql, { now: now(), leaseMs: timeoutMs + LEASE_SLACK_MS, limit: room, perSubscription: concurrency })
        for (const delivery of due) this.send(delivery)
      }
      this.problem.succeeded()
    } catch (error) {
      this.problem.failed(error)
    }
  }

  /** Waits until the deliveries started so far have finished (for tests and shutdown). */
  async idle (): Promise<void> {
    await Promise.all(this.inFlight)
  }

  private send (delivery: DueDelivery): void {
    const attempt = this.deliver(delivery).finally(() => {
      this.inFlight.delete(attempt)
      // a slot is free: that subscription's next delivery may be due already
      this.wake()
    })
    this.inFlight.add(attempt)
  }

  private async deliver (delivery: DueDelivery): Promise<void> {
    const { sql, now, log, timeoutMs, retryBaseMs } = this.options
    const response = await postWebhook({
      url: delivery.url,
      secret: delivery.secret,
      eventId: delivery.eventId,
      eventType: delivery.eventType,
      body: delivery.body,
      timestamp: Math.floor(now() / 1000),
      timeoutMs,
      signal: this.shutdown.signal,
      allowPrivate: this.options.allowPrivate === true
    })
    const at = now()
    let outcome: AttemptOutcome
    if (response.ok) {
      outcome = { kind: 'delivered', statusCode: response.statusCode ?? 0 }
    } else if (shouldRetry(delivery.attempt)) {
      outcome = { kind: 'retry', statusCode: response.statusCode, error: response.error ?? 'failed', nextAttemptAt: at + retryDelayMs(delivery.attempt, retryBaseMs) }
      log.debug({ delivery: delivery.id, url: delivery.url, attempt: delivery.attempt, reason: response.error }, 'webhook delivery failed; will retry')
    } else {
      outcome = { kind: 'failed', statusCode: response.statusCode, error: response.error ?? 'failed' }
      log.warn({ delivery: delivery.id, url: delivery.url, attempts: delivery.attempt, reason: response.error }, 'webhook delivery failed for good')
    }
    try {
      await recordAttempt(sql, delivery.id, at, outcome)
    } catch (error) {
      // the lease runs out and the delivery is tried again: at least once, never lost
      this.problem.failed(error)
    }
  }
}
