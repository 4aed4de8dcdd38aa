import { setImmediate as nextTurn } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { isTransientDbError } from '../../server/db/sql.js'
import { GroupCommit, ShutdownError, type GroupCommitOptions } from '../../server/pipeline/group-commit.js'
import type { FixItem } from '../../server/pipeline/items.js'
import { emptyWriteSet, type RejectRow, type WriteSet } from '../../server/model.js'

const T0 = Date.UTC(2026, 10, 23, 3, 0, 0)

function fixItem (n: number): FixItem {
  return { fix: { deviceId: `van-${n}`, time: T0 + n, lat: 13 + n / 100, lon: 100 + n / 100 }, sourceId: `van-${n}`, receivedAt: T0 + n, vehicleId: null, late: false, effects: null }
}

function setOf (...fixes: FixItem[]): WriteSet {
  return { ...emptyWriteSet(), fixes }
}

function rejectRow (deviceId: string): RejectRow {
  return { deviceId, topic: '(database)', receivedAt: T0, reasons: ['db_rejected'], detail: 'db_rejected: refused', payload: null }
}

/** The device ids of a write set's fixes and rejects: enough to tell every test row apart. */
function idsOf (set: WriteSet): string[] {
  return [...set.fixes.map((f) => f.fix.deviceId), ...set.rejects.map((r) => `reject:${r.deviceId}`)]
}

interface Deferred {
  promise: Promise<void>
  resolve: () => void
}

function deferred (): Deferred {
  let resolve!: () => void
  const promise = new Promise<void>((res) => { resolve = res })
  return { promise, resolve }
}

async function until (condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    if (condition()) return
    await nextTurn()
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** Lets every pending microtask and immediate run a few times over. */
async function settle (): Promise<void> {
  for (let i = 0; i < 20; i++) await nextTurn()
}

function transientError (): Error {
  return Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })
}

function refusedError (): Error {
  return Object.assign(new Error('value too long for type character varying(64)'), { severity: 'ERROR', code: '22001' })
}

interface Harness {
  commits: GroupCommit
  /** Every set handed to write, in call order, whether the write succeeded or not. */
  writes: WriteSet[]
  committed: WriteSet[]
  refused: Array<{ set: WriteSet, error: unknown }>
  logs: string[]
}

function harness (write: (set: WriteSet, call: number) => Promise<void>, overrides: Partial<GroupCommitOptions> = {}): Harness {
  const writes: WriteSet[] = []
  const committed: WriteSet[] = []
  const refused: Array<{ set: WriteSet, error: unknown }> = []
  const logs: string[] = []
  const commits = new GroupCommit({
    write: async (set) => {
      writes.push(set)
      await write(set, writes.length)
    },
    isTransient: isTransientDbError,
    refusedAsRejects: (set, error) => {
      refused.push({ set, error })
      return { ...emptyWriteSet(), rejects: [rejectRow(set.fixes[0]?.fix.deviceId ?? '?')] }
    },
    onCommitted: (set) => { committed.push(set) },
    log: {
      warn: (_obj, msg) => { logs.push(`warn: ${msg}`) },
      error: (_obj, msg) => { logs.push(`error: ${msg}`) },
      info: (_obj, msg) => { logs.push(`info: ${msg}`) }
    },
    retryInitialMs: 5,
    retryMaxMs: 20,
    ...overrides
  })
  return { commits, writes, committed, refused, logs }
}

describe('GroupCommit', () => {
  it('commits everything added in the same tick in one write', async () => {
    const h = harness(async () => {})
    await Promise.all([h.commits.add(setOf(fixItem(1))), h.commits.add(setOf(fixItem(2), fixItem(3))), h.commits.add(setOf(fixItem(4)))])
    expect(h.writes.map(idsOf)).toEqual([['van-1', 'van-2', 'van-3', 'van-4']])
    expect(h.committed.map(idsOf)).toEqual([['van-1', 'van-2', 'van-3', 'van-4']])
  })

  it('puts what is added while a write is in flight into the next write', async () => {
    const first = deferred()
    const h = harness(async (_set, call) => { if (call === 1) await first.promise })
    const a = h.commits.add(setOf(fixItem(1)))
    await until(() => h.writes.length === 1, 'the first write')
    const b = h.commits.add(setOf(fixItem(2)))
    const c = h.commits.add(setOf(fixItem(3)))
    await settle()
    expect(h.writes).toHaveLength(1)
    first.resolve()
    await Promise.all([a, b, c])
    expect(h.writes.map(idsOf)).toEqual([['van-1'], ['van-2', 'van-3']])
    expect(h.committed.map(idsOf)).toEqual([['van-1'], ['van-2', 'van-3']])
  })

  it('resolves add() only after its write has resolved', async () => {
    const gate = deferred()
    const events: string[] = []
    const h = harness(async () => {
      events.push('write started')
      await gate.promise
      events.push('write finished')
    })
    const added = h.commits.add(setOf(fixItem(1))).then(() => { events.push('add resolved') })
    await until(() => events.length === 1, 'the write')
    await settle()
    expect(events).toEqual(['write started'])
    gate.resolve()
    await added
    expect(events).toEqual(['write started', 'write finished', 'add resolved'])
  })

  it('retries a transient error until the write succeeds, then resolves add() and reports the commit once', async () => {
    const h = harness(async (_set, call) => { if (call <= 3) throw transientError() })
    await h.commits.add(setOf(fixItem(1), fixItem(2)))
    expect(h.writes.map(idsOf)).toEqual([['van-1', 'van-2'], ['van-1', 'van-2'], ['van-1', 'van-2'], ['van-1', 'van-2']])
    expect(h.committed.map(idsOf)).toEqual([['van-1', 'van-2']])
    expect(h.refused).toEqual([])
    expect(h.logs).toEqual([
      'warn: database unavailable; holding messages unacknowledged and retrying',
      'info: database is back; held messages committed'
    ])
  })

  it('halves a refused batch until the refused message is alone, writes that one row by row, and keeps its refused row as a reject', async () => {
    const bad = fixItem(2)
    const error = refusedError()
    const h = harness(async (set) => { if (set.fixes.includes(bad)) throw error })
    const outcomes = await Promise.all([h.commits.add(setOf(fixItem(1))), h.commits.add(setOf(bad)), h.commits.add(setOf(fixItem(3)))])
    expect(h.writes.map(idsOf)).toEqual([
      ['van-1', 'van-2', 'van-3'],
      ['van-1', 'van-2'],
      ['van-1'],
      ['van-2'],
      ['van-2'],
      ['reject:van-2'],
      ['van-3']
    ])
    expect(outcomes).toEqual([{ refusedRows: 0 }, { refusedRows: 1 }, { refusedRows: 0 }])
    expect(h.refused).toEqual([{ set: setOf(bad), error }])
    expect(h.refused[0]?.error).toBe(error)
    expect(h.committed.map(idsOf)).toEqual([['van-1', 'van-3']])
    expect(h.logs).toEqual([
      'warn: database refused a batch; halving it to find the refused message',
      'warn: database refused a batch; halving it to find the refused message',
      'error: database refused a message; writing its rows one by one'
    ])
  })

  it('costs a refused message among many a number of writes that grows with the logarithm of the batch, not its size', async () => {
    const bad = fixItem(500)
    const h = harness(async (set) => { if (set.fixes.includes(bad)) throw refusedError() })
    const sets = Array.from({ length: 1000 }, (_, n) => n === 500 ? setOf(bad) : setOf(fixItem(n)))
    const outcomes = await Promise.all(sets.map(async (set) => await h.commits.add(set)))
    expect(outcomes.filter((o) => o.refusedRows > 0)).toHaveLength(1)
    expect(outcomes[500]).toEqual({ refusedRows: 1 })
    // 1 + 2 per level of halving (log2 1000 ≈ 10) + the row and its reject
    expect(h.writes.length).toBeLessThanOrEqual(1 + 2 * 10 + 2)
    expect(h.committed.flatMap(idsOf)).toHaveLength(999)
  })

  it('logs a refused row whose reject cannot be stored either, and still commits the rest', async () => {
    const bad = fixItem(2)
    const h = harness(async (set) => {
      if (set.fixes.includes(bad) || set.rejects.length > 0) throw refusedError()
    })
    expect(await h.commits.add(setOf(fixItem(1), bad))).toEqual({ refusedRows: 1 })
    expect(h.committed.map(idsOf)).toEqual([['van-1']])
    expect(h.logs).toEqual([
      'error: database refused a message; writing its rows one by one',
      'error: could not store a refused row even in ingest_rejects'
    ])
  })

  it('does not treat a TypeError from the write as transient', async () => {
    const h = harness(async (_set, call) => { if (call === 1) throw new TypeError('bug') })
    await h.commits.add(setOf(fixItem(1)))
    // the batch was retried row by row instead of in a loop
    expect(h.writes.map(idsOf)).toEqual([['van-1'], ['van-1']])
    expect(h.committed.map(idsOf)).toEqual([['van-1']])
  })

  it('makes pending adds reject with ShutdownError when abandoned during an outage, and refuses new adds', async () => {
    const h = harness(async () => { throw transientError() })
    const pending = h.commits.add(setOf(fixItem(1)))
    await until(() => h.writes.length >= 2, 'a retry')
    h.commits.abandon()
    await expect(pending).rejects.toBeInstanceOf(ShutdownError)
    await expect(h.commits.add(setOf(fixItem(2)))).rejects.toBeInstanceOf(ShutdownError)
    expect(h.committed).toEqual([])
    const writesAfter = h.writes.length
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(h.writes.length).toBe(writesAfter)
  })

  it('drain() resolves only once everything added so far is committed', async () => {
    const gates = [deferred(), deferred()]
    const h = harness(async (_set, call) => { await gates[call - 1]?.promise })
    let drained = false
    void h.commits.add(setOf(fixItem(1)))
    await until(() => h.writes.length === 1, 'the first write')
    void h.commits.add(setOf(fixItem(2)))
    const draining = h.commits.drain().then(() => { drained = true })
    gates[0]?.resolve()
    await until(() => h.writes.length === 2, 'the second write')
    await settle()
    expect(drained).toBe(false)
    expect(h.committed.map(idsOf)).toEqual([['van-1']])
    gates[1]?.resolve()
    await draining
    expect(h.committed.map(idsOf)).toEqual([['van-1'], ['van-2']])
  })

  it('drain() resolves at once when nothing was added', async () => {
    const h = harness(async () => {})
    await h.commits.drain()
    expect(h.writes).toEqual([])
  })

  it('resolves an empty write set without calling write', async () => {
    const h = harness(async () => {})
    await h.commits.add(emptyWriteSet())
    expect(h.writes).toEqual([])
    expect(h.committed).toEqual([emptyWriteSet()])
  })

  it('starts a new batch after going idle', async () => {
    const h = harness(async () => {})
    await h.commits.add(setOf(fixItem(1)))
    await h.commits.drain()
    await h.commits.add(setOf(fixItem(2)))
    expect(h.writes.map(idsOf)).toEqual([['van-1'], ['van-2']])
  })

  it('with two transactions allowed, starts a second write while the first is in flight, but acknowledges the second only after the first', async () => {
    const first = deferred()
    const h = harness(async (_set, call) => { if (call === 1) await first.promise }, { concurrency: 2 })
    const acknowledged: string[] = []
    const a = h.commits.add(setOf(fixItem(1))).then(() => { acknowledged.push('a') })
    await until(() => h.writes.length === 1, 'the first write')
    const b = h.commits.add(setOf(fixItem(2))).then(() => { acknowledged.push('b') })
    await until(() => h.committed.length === 1, 'the second write to commit')
    await settle()
    // b is committed, but a message received before it is not: b waits
    expect(h.writes.map(idsOf)).toEqual([['van-1'], ['van-2']])
    expect(acknowledged).toEqual([])
    first.resolve()
    await Promise.all([a, b])
    expect(acknowledged).toEqual(['a', 'b'])
    expect(h.committed.map(idsOf)).toEqual([['van-2'], ['van-1']])
  })

  it('holds a redelivery whose set is empty (its first copy is in a batch still retrying) until that batch commits', async () => {
    let outage = true
    const h = harness(async (set) => { if (outage && set.fixes.length > 0) throw transientError() }, { concurrency: 2 })
    let firstAcked = false
    let redeliveryAcked = false
    const first = h.commits.add(setOf(fixItem(1))).then(() => { firstAcked = true })
    await until(() => h.writes.length >= 2, 'a retry of the first copy')
    // the dedupe stage found nothing new in the redelivery: an empty set
    const redelivery = h.commits.add(emptyWriteSet()).then(() => { redeliveryAcked = true })
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(h.commits.holding).toBe(true)
    expect([firstAcked, redeliveryAcked]).toEqual([false, false])
    outage = false
    await Promise.all([first, redelivery])
    expect(h.commits.holding).toBe(false)
    expect(h.committed.flatMap(idsOf)).toEqual(['van-1'])
  })

  it('closes a batch at maxBatchRows, so no transaction grows without bound, and acknowledges each add by its own transaction', async () => {
    const gate = deferred()
    const h = harness(async (_set, call) => { if (call === 1) await gate.promise }, { maxBatchRows: 3 })
    const resolved: number[] = []
    const adds = [1, 2, 3, 4, 5, 6, 7].map((n) => h.commits.add(setOf(fixItem(n))).then(() => { resolved.push(n) }))
    await until(() => h.writes.length === 1, 'the first write')
    await settle()
    // the second transaction has not run, so nothing in it may be acknowledged yet
    expect(resolved).toEqual([])
    gate.resolve()
    await Promise.all(adds)
    expect(h.writes.map(idsOf)).toEqual([['van-1', 'van-2', 'van-3'], ['van-4', 'van-5', 'van-6'], ['van-7']])
    expect(resolved).toEqual([1, 2, 3, 4, 5, 6, 7])
  })
})
