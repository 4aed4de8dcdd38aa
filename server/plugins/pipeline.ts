import fp from 'fastify-plugin'
import { Histogram } from 'prom-client'
import { gs1KeyOf } from '../../gateway/epc.js'
import type { Ingest } from '../../gateway/ingest-message.js'
import { rejection } from '../../gateway/rejects.js'
import { isTransientDbError } from '../db/sql.js'
import { writeBatch } from '../db/write-batch.js'
import { Errors } from '../errors.js'
import { LocalBus, type LiveBus } from '../live/bus.js'
import { GroupCommit } from '../pipeline/group-commit.js'
import { buildStages, Pipeline } from '../pipeline/pipeline.js'
import { IngestStats } from '../pipeline/stats.js'
import { emptyWriteSet, type WriteSet } from '../pipeline/write-set.js'

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
  const bus: LiveBus = new LocalBus()
  const stages = buildStages({
    registry: app.registry,
    geofences: app.geofences,
    visits: app.tagVisits,
    deviceState: app.deviceState,
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
    onCommitted: (set) => { publishMilestones(bus, set) },
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
  app.decorate('ingest', async (message) => {
    const { set, rejects } = pipeline.process(message)
    // storage and the live map are two outputs of the pipeline: a position is shown as soon as it
    // is accepted; a milestone, which people act on, only once it is committed
    publishPositions(bus, set)
    const { refusedRows } = await commits.add(set)
    return refusedRows === 0 ? rejects : [...rejects, rejection('db_rejected', `${refusedRows} row(s) of this message were refused by the database and kept in ingest_rejects`)]
  })
  app.addHook('onClose', async () => {
    // the broker has drained already; anything still here came from the API and is not acknowledged
    commits.abandon()
  })
}, { name: 'trackstream-pipeline', dependencies: ['trackstream-state', 'trackstream-metrics'] })

function publishPositions (bus: LiveBus, set: WriteSet): void {
  if (set.fixes.length === 0) return
  const positions = set.fixes.filter((item) => !item.late).map(({ fix, vehicleId }) => ({
    deviceId: fix.deviceId,
    vehicleId,
    lat: fix.lat,
    lon: fix.lon,
    speed: fix.speed ?? null,
    heading: fix.heading ?? null,
    time: fix.time
  }))
  if (positions.length > 0) bus.publish({ kind: 'positions', positions })
}

function publishMilestones (bus: LiveBus, set: WriteSet): void {
  if (set.milestones.length > 0) bus.publish({ kind: 'milestones', milestones: set.milestones })
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
