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
  log: {
    warn: (obj: object, msg: string) => void
    error: (obj: object, msg: string) => void
    info: (obj: object, msg: string) => void
  }
  retryInitialMs?: number
  retryMaxMs?: number
}

interface Batch {
  sets: WriteSet[]
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
  private pending = newBatch()
  private running = false
  private stopped = false
  private idle: Promise<void> = Promise.resolve()
  private markIdle: () => void = () => {}
  private readonly retryInitialMs: number
  private readonly retryMaxMs: number

  constructor (private readonly options: GroupCommitOptions) {
    this.retryInitialMs = options.retryInitialMs ?? 100
    this.retryMaxMs = options.retryMaxMs ?? 5000
  }

  /** Resolves once the set is durable; rejects only if the process is shutting down without it. */
  add (set: WriteSet): Promise<void> {
    if (this.stopped) return Promise.reject(new ShutdownError())
    this.pending.sets.push(set)
    if (!this.running) {
      this.running = true
      this.idle = new Promise((resolve) => { this.markIdle = resolve })
      // setImmediate lets every packet of the current socket reads join this batch
      setImmediate(() => { void this.run() })
    }
    return this.pending.promise
  }

  /** Waits until everything added so far is committed. */
  async drain (): Promise<void> {
    await this.idle
  }

  /** Gives up on what is not committed: those messages stay unacknowledged and will be resent. */
  abandon (): void {
    this.stopped = true
  }

  private async run (): Promise<void> {
    while (this.pending.sets.length > 0) {
      const batch = this.pending
      this.pending = newBatch()
      try {
        const committed = await this.commit(mergeWriteSets(batch.sets))
        batch.resolve()
        this.options.onCommitted(committed)
      } catch (error) {
        batch.reject(error as Error)
      }
    }
    this.running = false
    this.markIdle()
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
        await this.options.write(set)
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
  return { sets: [], promise, resolve, reject }
}
