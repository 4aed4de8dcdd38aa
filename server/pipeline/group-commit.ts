import { setTimeout as sleep } from 'node:timers/promises'
import { mergeWriteSets, rowCount, splitRows, type WriteSet } from './write-set.js'

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
  /**
   * Transactions in flight at once. Two let PostgreSQL work on one batch while the other commits;
   * the in-memory dedupe keeps a redelivery out of two concurrent batches.
   */
  concurrency?: number
  /**
   * A batch that reaches this many rows is closed and the next one begins. Without a cap, batches
   * grow with overload until each transaction takes seconds and throughput collapses.
   */
  maxBatchRows?: number
}

interface Batch {
  sets: WriteSet[]
  rows: number
  promise: Promise<void>
  resolve: () => void
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
 * A batch is retried until the database takes it; nothing is dropped to make progress.
 */
export class GroupCommit {
  /** closed batches, oldest first, waiting for a free transaction */
  private readonly full: Batch[] = []
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

  constructor (private readonly options: GroupCommitOptions) {
    this.retryInitialMs = options.retryInitialMs ?? 100
    this.retryMaxMs = options.retryMaxMs ?? 5000
    this.concurrency = options.concurrency ?? 1
    this.maxBatchRows = options.maxBatchRows ?? 2000
  }

  /** Resolves once the set is durable; rejects only if the process is shutting down without it. */
  add (set: WriteSet): Promise<void> {
    if (this.stopped) return Promise.reject(new ShutdownError())
    const batch = this.pending
    batch.sets.push(set)
    batch.rows += rowCount(set)
    if (batch.rows >= this.maxBatchRows) {
      this.full.push(batch)
      this.pending = newBatch()
    }
    const promise = batch.promise
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
    return promise
  }

  /** Waits until everything added so far is committed. */
  async drain (): Promise<void> {
    await this.idle
  }

  /** Gives up on what is not committed: those messages stay unacknowledged and will be resent. */
  abandon (): void {
    this.stopped = true
  }

  /** One of up to `concurrency` loops, each taking whatever is pending when it is free. */
  private async run (): Promise<void> {
    for (let batch = this.take(); batch !== undefined; batch = this.take()) {
      try {
        const committed = await this.commit(mergeWriteSets(batch.sets))
        batch.resolve()
        this.options.onCommitted(committed)
      } catch (error) {
        batch.reject(error as Error)
      }
    }
    this.running--
    if (this.running === 0) this.markIdle()
  }

  private take (): Batch | undefined {
    const closed = this.full.shift()
    if (closed !== undefined) return closed
    if (this.pending.sets.length === 0) return undefined
    const batch = this.pending
    this.pending = newBatch()
    return batch
  }

  private async commit (set: WriteSet): Promise<WriteSet> {
    if (rowCount(set) === 0) return set
    try {
      await this.writeWithRetry(set)
      return set
    } catch (error) {
      if (error instanceof ShutdownError) throw error
      this.options.log.error({ err: error, rows: rowCount(set) }, 'database refused a batch; writing its rows one by one')
      return await this.commitRowByRow(set)
    }
  }

  /** Retries transient failures for as long as it takes; rethrows anything else. */
  private async writeWithRetry (set: WriteSet): Promise<void> {
    let delay = this.retryInitialMs
    let outageStart: number | undefined
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
          this.options.log.warn({ reason: (error as Error).message, rows: rowCount(set) }, 'database unavailable; holding messages unacknowledged and retrying')
        }
        await sleep(delay)
        delay = Math.min(delay * 2, this.retryMaxMs)
      }
    }
  }

  private async commitRowByRow (set: WriteSet): Promise<WriteSet> {
    const committed: WriteSet[] = []
    for (const single of splitRows(set)) {
      try {
        await this.writeWithRetry(single)
        committed.push(single)
      } catch (error) {
        if (error instanceof ShutdownError) throw error
        await this.keepRefused(single, error)
      }
    }
    return mergeWriteSets(committed)
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
  let resolve!: () => void
  let reject!: (error: Error) => void
  const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej })
  // a batch nobody awaits must not become an unhandled rejection
  promise.catch(() => {})
  return { sets: [], rows: 0, promise, resolve, reject }
}
