import fp from 'fastify-plugin'
import { clearExceptions, openExceptions, selectOpenExceptions, type ExceptionKind, type NewException } from '../db/queries/exceptions.js'
import { record, vehiclePosition } from '../pipeline/custody-moves.js'
import { emptyWriteSet, type MilestoneRow } from '../pipeline/write-set.js'
import { laneOf, type ParcelRecord } from '../state/registry.js'
import { vehicleRef } from '../tracking/custody.js'
import { exceptionsOf, RAISED_CODES, type ExceptionRules } from '../tracking/exceptions.js'
import { buildLaneStats, recordDuration, recordTimeline, type LaneStats } from '../tracking/lane-stats.js'
import { RecurringProblem } from '../util/recurring-problem.js'
import { cooperative } from '../util/yield.js'

declare module 'fastify' {
  interface FastifyInstance {
    laneStats: LaneStats
    /** Runs one pass of the exception rules now; the timer runs it every EXCEPTION_SWEEP_MS. */
    sweepExceptions: () => Promise<void>
  }
}

export interface ExceptionsPluginOptions {
  sweepMs: number
  stallSlaMs: number
  customsSlaMs: number
  vehicleSilentMs: number
}

/** The p95 of a lane's past step durations, times 1.5, once 20 are known; lost after 4 thresholds. */
const LEARNED = { minSamples: 20, stallFactor: 1.5, lostFactor: 4 }

/**
 * Stalled, suspected-lost and customs-dwell parcels and silent vehicles: raised when they start to
 * hold, with the parcel's milestone (so merchants' webhooks and the ops feed hear of it), and
 * cleared as soon as they no longer do. What a step normally takes is learnt per lane as
 * milestones commit.
 */
export default fp<ExceptionsPluginOptions>(async (app, options) => {
  const { registry, deviceState } = app
  const rules: ExceptionRules = { ...LEARNED, stallSlaMs: options.stallSlaMs, customsSlaMs: options.customsSlaMs }
  const stats = buildLaneStats([...registry.parcels.values()].map((parcel) => ({ lane: laneOf(parcel), milestones: parcel.track.recent })))

  const unsubscribe = app.bus.subscribe((event) => {
    if (event.kind === 'milestones') learn(stats, registry.parcels, event.milestones)
  })

  /** Open exceptions by subject (parcel id or vehicle id), then kind: their database ids. */
  const open = new Map<string, Map<ExceptionKind, string>>()
  for (const row of await selectOpenExceptions(app.db.sql)) remember(open, row.parcelId ?? row.vehicleId ?? '', row.kind, row.id)

  let running = false
  const problem = new RecurringProblem(app.log, 'exception sweep')
  const sweep = async (): Promise<void> => {
    if (running) return
    running = true
    try {
      await sweepOnce()
      problem.succeeded()
    } catch (error) {
      problem.failed(error)
    } finally {
      running = false
    }
  }

  const sweepOnce = async (): Promise<void> => {
    const now = app.now()
    const toOpen: NewException[] = []
    const toClear: string[] = []
    const milestones: MilestoneRow[] = []
    const pause = cooperative()
    for (const parcel of registry.parcels.values()) {
      await pause()
      const held = exceptionsOf(parcel.track.recent, laneOf(parcel), now, stats, rules)
      const known = open.get(parcel.id)
      for (const raised of held) {
        if (known?.has(raised.kind) === true) continue
        toOpen.push({ kind: raised.kind, parcelId: parcel.id, vehicleId: null, openedAt: raised.since, detail: raised.detail })
        const vehicleId = registry.custody.vehicleOf(`parcel:${parcel.id}`)
        milestones.push(...record(registry, deviceState, parcel.id, raised.milestone, vehicleId, {
          time: raised.since, source: 'engine', deviceId: null, stationId: null, note: null
        }, null))
      }
      for (const [kind, id] of known ?? []) if (!held.some((raised) => raised.kind === kind)) toClear.push(id)
    }
    for (const vehicle of registry.vehicles.values()) {
      await pause()
      const aboard = registry.custody.parcelsIn(vehicleRef(vehicle.id)).length
      const last = vehiclePosition(registry, deviceState, vehicle.id)?.time
      const silent = aboard > 0 && now - (last ?? -Infinity) > options.vehicleSilentMs
      const known = open.get(vehicle.id)?.get('vehicle_silent')
      if (silent && known === undefined) {
        toOpen.push({ kind: 'vehicle_silent', parcelId: null, vehicleId: vehicle.id, openedAt: now, detail: { lastFix: last === undefined ? null : new Date(last).toISOString(), parcelsAboard: aboard } })
      } else if (!silent && known !== undefined) toClear.push(known)
    }
    if (milestones.length > 0) await app.commits.add({ ...emptyWriteSet(), milestones })
    for (const row of await openExceptions(app.db.sql, toOpen)) remember(open, row.parcelId ?? row.vehicleId ?? '', row.kind, row.id)
    await clearExceptions(app.db.sql, toClear, now)
    for (const id of toClear) forget(open, id)
  }

  const timer = setInterval(() => { void sweep() }, options.sweepMs).unref()
  app.decorate('laneStats', stats)
  app.decorate('sweepExceptions', sweep)
  app.addHook('onClose', async () => {
    clearInterval(timer)
    unsubscribe()
  })
}, { name: 'trackstream-exceptions', dependencies: ['trackstream-state', 'trackstream-pipeline'] })

/** Each committed milestone teaches its lane how long the step before it took. */
function learn (stats: LaneStats, parcels: ReadonlyMap<string, ParcelRecord>, committed: readonly MilestoneRow[]): void {
  for (const milestone of committed) {
    if (RAISED_CODES.has(milestone.code)) continue
    const parcel = parcels.get(milestone.parcelId)
    if (parcel === undefined) continue
    const lane = laneOf(parcel)
    const before = [...parcel.track.recent].reverse().find((m) => m.time < milestone.time && !RAISED_CODES.has(m.code))
    if (before !== undefined) recordDuration(stats, lane, before.code, milestone.time - before.time)
    if (milestone.code === 'delivered') recordTimeline(stats, { lane, milestones: parcel.track.recent }, { steps: false })
  }
}

function remember (open: Map<string, Map<ExceptionKind, string>>, subject: string, kind: ExceptionKind, id: string): void {
  const kinds = open.get(subject) ?? new Map<ExceptionKind, string>()
  kinds.set(kind, id)
  open.set(subject, kinds)
}

function forget (open: Map<string, Map<ExceptionKind, string>>, id: string): void {
  for (const [subject, kinds] of open) {
    for (const [kind, known] of kinds) if (known === id) kinds.delete(kind)
    if (kinds.size === 0) open.delete(subject)
  }
}
