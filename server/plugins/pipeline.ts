import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, Histogram } from 'prom-client'
import { gs1KeyOf } from '../../gateway/epc.js'
import type { Ingest } from '../../gateway/ingest-message.js'
import { rejection } from '../../gateway/rejects.js'
import { textProblem } from '../../proto/text.js'
import { isTransientDbError } from '../db/sql.js'
import { writeBatch } from '../db/write-batch.js'
import { Errors } from '../errors.js'
import { LocalBus, type LiveBus, type LiveEvent } from '../live/bus.js'
import { RedisBus } from '../live/redis-bus.js'
import type { RedisConnections } from './redis.js'
import { RecurringProblem } from '../util/recurring-problem.js'
import { GroupCommit, ShutdownError } from '../pipeline/group-commit.js'
import { buildStages, Pipeline } from '../pipeline/pipeline.js'
import { IngestStats } from '../pipeline/stats.js'
import { emptyWriteSet, type LivePosition, type StoredFix, type WriteSet } from '../model.js'
import type { IngestMessage } from '../../gateway/ingest-message.js'

declare module 'fastify' {
  interface FastifyInstance {
    ingest: Ingest
    /** For the API: commits the set, and throws TS_NOT_STORED if the database refused any of it. */
    record: (set: WriteSet, what: string) => Promise<void>
    commits: GroupCommit
    stats: IngestStats
    bus: LiveBus
  }
}

export interface PipelinePluginOptions {
  retentionDays: number
}

/** A device clock may run this far ahead of ours before its fixes count as being from the future. */
const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000
const DAY_MS = 86_400_000

export default fp<PipelinePluginOptions>(async (app, { retentionDays }) => {
  const clock = app.now
  const stats = new IngestStats(app.metrics)
  const { engine, events } = app
  const viewerErrors = new Counter({
    name: 'trackstream_live_listener_errors_total',
    help: 'Live viewers\' listeners on the bus that threw, by event: each was logged, and the others and ingest went on',
    labelNames: ['kind'],
    registers: [app.metrics]
  })
  const onListenerError = (error: unknown, event: LiveEvent): void => {
    viewerErrors.inc({ kind: event.kind })
    app.log.error({ err: error, kind: event.kind }, 'a live viewer\'s listener failed; the others and ingest go on')
  }
  const bus: LiveBus = app.redis === null ? new LocalBus(onListenerError) : clusterBus(app, app.redis, onListenerError)
  const stages = buildStages({
    engine,
    gs1KeyOf,
    limits: {
      now: clock,
      maxFutureMs: MAX_CLOCK_SKEW_MS,
      maxAgeMs: (retentionDays === 0 ? 3650 : retentionDays) * DAY_MS
    }
  })
  const pipeline = new Pipeline(stages, stats, (error, stage, deviceId) => {
    app.log.error({ err: error, stage, device: deviceId }, 'pipeline stage failed; the item was refused and kept in ingest_rejects')
  })
  const commitSeconds = new Histogram({
    name: 'trackstream_commit_seconds',
    help: 'Duration of each group-commit transaction',
    buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
    registers: [app.metrics]
  })
  const commitRows = new Histogram({
    name: 'trackstream_commit_rows',
    help: 'Rows written by each group-commit transaction',
    buckets: [1, 10, 100, 500, 1000, 2000, 5000, 10000, 20000],
    registers: [app.metrics]
  })
  const commits = new GroupCommit({
    onTransaction: (rows, seconds) => {
      commitSeconds.observe(seconds)
      commitRows.observe(rows)
    },
    write: async (set) => { await writeBatch(app.db.pool, set) },
    isTransient: isTransientDbError,
    refusedAsRejects: (set, error) => {
      const rejects = refusedAsRejects(set, error, clock())
      for (const reject of rejects.rejects) stats.rejected(reject.deviceId, 'db_rejected')
      return rejects
    },
    onCommitted: (set) => {
      if (set.custody.length > 0) events.emit('custodyCommitted', set.custody)
      if (set.milestones.length === 0) return
      events.emit('committed', set.milestones)
      bus.publish({ kind: 'milestones', milestones: set.milestones })
    },
    concurrency: 2,
    maxBatchRows: 2000,
    log: app.log
  })

  app.decorate('stats', stats)
  app.decorate('bus', bus)
  app.decorate('commits', commits)
  app.decorate('record', async (set: WriteSet, what: string) => {
    const { refusedRows } = await commits.add(set)
    if (refusedRows > 0) throw new Errors.NotStored(what)
  })
  let closing = false
  /**
   * A driver's word about a parcel the engine does not hold (its journey ended before this
   * process started) needs the parcel read back first. The database being away holds the message,
   * unacknowledged, as a commit would.
   */
  const readBackParcels = async (message: IngestMessage): Promise<void> => {
    // what validation will refuse is not looked up: a NUL is not a tracking number
    const wanted = message.driverEvents.filter(({ parcel }) => parcel.length <= 128 && textProblem(parcel) === undefined && engine.find(parcel) === undefined)
    for (let wait = 100; ; wait = Math.min(wait * 2, 5000)) {
      try {
        for (const { parcel } of wanted) await app.findParcel(parcel)
        return
      } catch (error) {
        // anything else is a bug: the pipeline then refuses the event as unknown, and keeps it
        if (!isTransientDbError(error)) {
          app.log.error({ err: error, device: message.deviceId }, 'could not read back a driver event\'s parcel')
          return
        }
        if (closing) throw new ShutdownError()
        await new Promise((resolve) => setTimeout(resolve, wait))
      }
    }
  }
  app.decorate('ingest', async (message) => {
    if (message.driverEvents.length > 0) await readBackParcels(message)
    const { set, rejects, live } = pipeline.process(message)
    // storage and the live map are two outputs of the pipeline: a position is shown as soon as it
    // is accepted; a milestone, which people act on, only once it is committed
    const positions = positionsOf(live)
    if (positions.length > 0) {
      events.emit('positions', positions)
      bus.publish({ kind: 'positions', positions })
    }
    const { refusedRows } = await commits.add(set)
    return refusedRows === 0 ? rejects : [...rejects, rejection('db_rejected', `${refusedRows} row(s) of this message were refused by the database and kept in ingest_rejects`)]
  })
  app.addHook('onClose', async () => {
    closing = true
    // the broker has drained already; anything still here came from the API and is not acknowledged
    commits.abandon()
  })
}, { name: 'trackstream-pipeline', dependencies: ['trackstream-engine', 'trackstream-metrics', 'trackstream-redis'] })

/** Cluster mode: the viewers of every instance see every instance's frames, through Redis pub/sub. */
function clusterBus (app: FastifyInstance, redis: RedisConnections, onListenerError: (error: unknown, event: LiveEvent) => void): LiveBus {
  const lost = new Counter({
    name: 'trackstream_live_cluster_lost_total',
    help: 'Live events not sent to the other instances (Redis away) or not understood from them, by direction',
    labelNames: ['direction'],
    registers: [app.metrics]
  })
  const problem = new RecurringProblem(app.log, 'sending live frames to the other instances')
  const bus = new RedisBus({
    publisher: redis.connect('live-out', { enableOfflineQueue: false }),
    subscriber: redis.connect('live-in'),
    channel: 'trackstream:live',
    self: randomUUID(),
    onListenerError,
    onLost: (direction, reason) => {
      lost.inc({ direction })
      if (direction === 'out') problem.failed(new Error(reason))
      else app.log.warn({ reason }, 'a live event from another instance could not be read')
    }
  })
  // before the first frame: a Redis that is not there at start is an outage like any other
  bus.start().catch((error: unknown) => { problem.failed(error) })
  return bus
}

function positionsOf (fixes: readonly StoredFix[]): LivePosition[] {
  return fixes.map(({ fix, vehicleId }) => ({
    deviceId: fix.deviceId,
    vehicleId,
    lat: fix.lat,
    lon: fix.lon,
    speed: fix.speed ?? null,
    heading: fix.heading ?? null,
    time: fix.time
  }))
}

/** A row the database refused, kept in ingest_rejects as JSON so it can be inspected and replayed. */
function refusedAsRejects (set: WriteSet, error: unknown, now: number): WriteSet {
  const row = set.fixes[0]?.fix ?? set.scans[0]?.scan ?? set.milestones[0] ?? set.rejects[0]
  const deviceId = set.fixes[0]?.fix.deviceId ?? set.scans[0]?.scan.readerId ?? set.milestones[0]?.deviceId ?? set.rejects[0]?.deviceId ?? 'api'
  return {
    ...emptyWriteSet(),
    rejects: [{
      deviceId,
      topic: '(database)',
      receivedAt: now,
      reasons: ['db_rejected'],
      detail: `db_rejected: ${(error as Error).message}`,
      payload: Buffer.from(JSON.stringify(row))
    }]
  }
}
