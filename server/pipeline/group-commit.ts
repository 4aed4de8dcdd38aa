import { setTimeout as sleep } from 'node:timers/promises'
import { mergeWriteSets, rowCount, splitRows, type WriteSet } from '../model.js'

export interface GroupCommitOptions {
  /** Writes one set in one transaction. */
  write: (set: WriteSet) => Promise<void>
  /** Connection trouble: retry the same batch. Anything else means a row the database refuses. */
  isTransient: (error: unknown) => boolean
  /** Turns a single-row set the database refused into rows for ingest_rejects. */
  refusedAsRejects: (set: WriteSet, error: unknown) => WriteSet
  onCommitted: (set: WriteSet) => void
  /** Each committed transaction: how many rows, how long it took. */
  onTransaction?: (rows: number, seconds: number) => void
  log: {
    warn: (obj: object, msg: string) => void
    error: (obj: object, msg: string) => void
    info: (obj: object, msg: string) => void
  }
  retryInitialMs?: number
  retryMaxMs?: number
  /** Transactions in flight at once. Two let PostgreSQL work on one batch while the other commits. */
  concurrency?: number
  /**
   * A batch that reaches this many rows is closed and the next one begins. Without a cap, batches
   * grow with overload until each transaction takes seconds and throughput collapses.
   */
  maxBatchRows?: number
}

/** What became of one added set: how many of its rows the database refused (kept in ingest_rejects instead). */
export interface CommitOutcome {
  refusedRows: number
}

const ALL_STORED: CommitOutcome = Object.freeze({ refusedRows: 0 })

interface Batch {
  sets: WriteSet[]
  rows: number
  promise: Promise<Map<WriteSet, number>>
  /** Set when its transaction is done; it settles only once every older batch has. */
  result?: { refused: Map<WriteSet, number> } | { error: Error }
  resolve: (refused: Map<WriteSet, number>) => void
  reject: (error: Error) => void
}

export class ShutdownError extends Error {
  constructor () {
    super('trackstream is shutting down; the message was not committed and is not acknowledged')
    this.name = 'ShutdownError'
  }
}

/**
 * Group commit: everything added while one transaction is in flight goes into the next one, so
 * batches grow with load and a lone message still commits at once. add() resolves only after
 * its batch has committed, which is what lets the broker hold a QoS1 PUBACK until then.
 *
 * Batches settle in the order they were formed, even when a later one commits first: an
 * acknowledgement then also means that everything received before it is committed. That is what
 * makes a redelivered message safe to acknowledge when the dedupe stage has seen its first copy:
 * the copy sits in an earlier batch, so the redelivery's acknowledgement waits for it.
 *
 * A batch is retried until the database takes it; nothing is dropped to make progress. A batch
 * the database refuses is halved until the refused message is alone, so one bad message costs a
 * few extra transactions, not one per row of everybody's batch.
 */
export class GroupCommit {
  /** closed batches, oldest first, waiting for a free transaction */
  private readonly full: Batch[] = []
  /** taken batches, oldest first, not yet settled */
  private readonly unsettled: Batch[] = []
  private pending = newBatch()
  private running = 0
  private stopped = false
  private idle: Promise<void> = Promise.resolve()
  private markIdle: () => void = () => {}
  private readonly retryInitialMs: number
  private readonly retryMaxMs: number
  private readonly concurrency: number
  private readonly maxBatchRows: number
  private scheduled = false
  /** Writes now waiting out a connection problem. */
  private retrying = 0

  constructor (private readonly options: GroupCommitOptions) {
    this.retryInitialMs = options.retryInitialMs ?? 100
    this.retryMaxMs = options.retryMaxMs ?? 5000
    this.concurrency = options.concurrency ?? 1
    this.maxBatchRows = options.maxBatchRows ?? 2000
  }

  /** Resolves once the set is durable; rejects only if the process is shutting down without it. */
  async add (set: WriteSet): Promise<CommitOutcome> {
    if (this.stopped) throw new ShutdownError()
    const batch = this.pending
    batch.sets.push(set)
    batch.rows += rowCount(set)
    if (batch.rows >= this.maxBatchRows) {
      this.full.push(batch)
      this.pending = newBatch()
    }
    if (this.running < this.concurrency && !this.scheduled) {
      if (this.running === 0) this.idle = new Promise((resolve) => { this.markIdle = resolve })
      this.running++
      this.scheduled = true
      // setImmediate lets every packet of the current socket reads join this batch
      setImmediate(() => {
        this.scheduled = false
        void this.run()
      })
    }
    const refused = await batch.promise
    const rows = refused.size === 0 ? 0 : refused.get(set) ?? 0
    return rows === 0 ? ALL_STORED : { refusedRows: rows }
  }

  /** Waits until everything added so far is committed. */
  async drain (): Promise<void> {
    await this.idle
  }

  /** True while a write is held up by the database being unreachable. */
  get holding (): boolean {
    return this.retrying > 0
  }

  /** Gives up on what is not committed: those messages stay unacknowledged and will be resent. */
  abandon (): void {
    this.stopped = true
  }

  /** One of up to `concurrency` loops, each taking whatever is pending when it is free. */
  private async run (): Promise<void> {
    for (let batch = this.take(); batch !== undefined; batch = this.take()) {
      try {
        const { committed, refused } = await this.commitSets(batch.sets)
        batch.result = { refused }
        this.options.onCommitted(committed)
      } catch (error) {
        batch.result = { error: error as Error }
      }
      this.settleInOrder()
    }
    this.running--
    if (this.running === 0) this.markIdle()
  }

  private take (): Batch | undefined {
    let batch = this.full.shift()
    if (batch === undefined && this.pending.sets.length > 0) {
      batch = this.pending
      this.pending = newBatch()
    }
    if (batch !== undefined) this.unsettled.push(batch)
    return batch
  }

  private settleInOrder (): void {
    for (let oldest = this.unsettled[0]; oldest?.result !== undefined; oldest = this.unsettled[0]) {
      this.unsettled.shift()
      if ('error' in oldest.result) oldest.reject(oldest.result.error)
      else oldest.resolve(oldest.result.refused)
    }
  }

  /** Writes the sets together; if the database refuses them, halves them until the refusal is isolated. */
  private async commitSets (sets: WriteSet[]): Promise<{ committed: WriteSet, refused: Map<WriteSet, number> }> {
    const merged = mergeWriteSets(sets)
    if (rowCount(merged) === 0) return { committed: merged, refused: new Map() }
    try {
      await this.writeWithRetry(merged)
      return { committed: merged, refused: new Map() }
    } catch (error) {
      if (error instanceof ShutdownError) throw error
      if (sets.length === 1) return await this.commitRowByRow(sets[0] as WriteSet, error)
      this.options.log.warn({ reason: (error as Error).message, messages: sets.length, rows: rowCount(merged) }, 'database refused a batch; halving it to find the refused message')
      const middle = Math.ceil(sets.length / 2)
      const first = await this.commitSets(sets.slice(0, middle))
      const second = await this.commitSets(sets.slice(middle))
      return {
        committed: mergeWriteSets([first.committed, second.committed]),
        refused: new Map([...first.refused, ...second.refused])
      }
    }
  }

  /** Retries transient failures for as long as it takes; rethrows anything else. */
  private async writeWithRetry (set: WriteSet): Promise<void> {
    let delay = this.retryInitialMs
    let outageStart: number | undefined
    try {
      for (;;) {
        if (this.stopped) throw new ShutdownError()
        try {
          const started = performance.now()
          await this.options.write(set)
          this.options.onTransaction?.(rowCount(set), (performance.now() - started) / 1000)
          if (outageStart !== undefined) {
            this.options.log.info({ seconds: (Date.now() - outageStart) / 1000 }, 'database is back; held messages committed')
          }
          return
        } catch (error) {
          if (!this.options.isTransient(error)) throw error
          if (outageStart === undefined) {
            outageStart = Date.now()
            this.retrying++
            this.options.log.warn({ reason: (error as Error).message, rows: rowCount(set) }, 'database unavailable; holding messages unacknowledged and retrying')
          }
          await sleep(delay)
          delay = Math.min(delay * 2, this.retryMaxMs)
        }
      }
    } finally {
      if (outageStart !== undefined) this.retrying--
    }
  }

  /** One message the database refused: its rows one by one, each refused row kept in ingest_rejects. */
  private async commitRowByRow (set: WriteSet, refusal: unknown): Promise<{ committed: WriteSet, refused: Map<WriteSet, number> }> {
    this.options.log.error({ err: refusal, rows: rowCount(set) }, 'database refused a message; writing its rows one by one')
    const committed: WriteSet[] = []
    let refusedRows = 0
    for (const single of splitRows(set)) {
      try {
        await this.writeWithRetry(single)
        committed.push(single)
      } catch (error) {
        if (error instanceof ShutdownError) throw error
        refusedRows++
        await this.keepRefused(single, error)
      }
    }
    return { committed: mergeWriteSets(committed), refused: refusedRows === 0 ? new Map() : new Map([[set, refusedRows]]) }
  }

  private async keepRefused (single: WriteSet, refusal: unknown): Promise<void> {
    try {
      await this.writeWithRetry(this.options.refusedAsRejects(single, refusal))
    } catch (error) {
      if (error instanceof ShutdownError) throw error
      // the last place this row exists is the log
      this.options.log.error({ err: error, row: single }, 'could not store a refused row even in ingest_rejects')
    }
  }
}

function newBatch (): Batch {
  let resolve!: (refused: Map<WriteSet, number>) => void
  let reject!: (error: Error) => void
  const promise = new Promise<Map<WriteSet, number>>((res, rej) => { resolve = res; reject = rej })
  // a batch nobody awaits must not become an unhandled rejection
  promise.catch(() => {})
  return { sets: [], rows: 0, promise, resolve, reject }
}
