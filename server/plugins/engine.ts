import fp from 'fastify-plugin'
import { Counter, Gauge } from 'prom-client'
import { idRanges, Interner, selectActivePage, selectRecentJourneys, type IdRange } from '../db/queries/active-parcels.js'
import { selectContainers } from '../db/queries/containers.js'
import { selectCustodyAboard, selectCustodyOf } from '../db/queries/custody.js'
import { selectDevices } from '../db/queries/devices.js'
import { selectOpenExceptions } from '../db/queries/exceptions.js'
import { selectParcelByIdOrNumber } from '../db/queries/parcels.js'
import { selectCrossings, selectGeofences } from '../db/queries/geofences.js'
import { selectLatestPositions, type PositionRecord } from '../db/queries/positions.js'
import { selectReaders } from '../db/queries/readers.js'
import { selectStations } from '../db/queries/stations.js'
import { selectVehicles } from '../db/queries/vehicles.js'
import { withTransaction } from '../db/sql.js'
import { MAINTENANCE_TIMEOUT_MS } from './db.js'
import { Engine } from '../engine/engine.js'
import { Events, type EngineEvents } from '../engine/events.js'
import { Store } from '../engine/store.js'
import type { ActiveParcel } from '../model.js'
import type { ExceptionRules } from '../tracking/exceptions.js'
import type { GeofenceConfig } from '../tracking/geofence.js'
import type { LaneTimeline } from '../tracking/lane-stats.js'
import { containerRef, parcelRef } from '../tracking/custody.js'
import { collectGarbage } from '../util/collect-garbage.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The one place that changes tracking state (server/engine/). */
    engine: Engine
    /** What happens in the engine, for this process's own listeners; a listener that throws is logged and counted. */
    events: Events<EngineEvents>
    /** Each device's newest stored fix when the server started. */
    startupPositions: PositionRecord[]
    /**
     * A parcel by id or tracking number, as the engine holds it: on its way, or read back from the
     * database (a delivered one, for a late word about it). Undefined when there is none.
     */
    findParcel: (idOrTrackingNumber: string) => Promise<ActiveParcel | undefined>
  }
}

export interface EnginePluginOptions {
  geofence: GeofenceConfig
  rfidWindowMs: number
  exceptions: { stallSlaMs: number, customsSlaMs: number, vehicleSilentMs: number }
  eta: { pushThresholdMs: number, serviceMs: number }
}

/** The p95 of a lane's past step durations, times 1.5, once 20 are known; lost after 4 thresholds. */
const LEARNED = { minSamples: 20, stallFactor: 1.5, lostFactor: 4 }
/** Parcels read per round trip at start. */
const PAGE = 10_000
/**
 * The parts of the id space read at start, and how many at once. On a cold cache the load waits
 * on the disk more than on either core: at 10,000,000 parcels (1,000,000 on their way) two at once
 * took 24 and 35 s, four 23 and 25 s, six 23 s.
 */
const RANGES = 16
const READERS = 4
/** The journeys that ended most recently teach the lanes at start: enough for every lane's sample store. */
const JOURNEYS_AT_START = 20_000

/**
 * Builds the tracking engine from the database: the configuration tables whole, and of the parcels
 * only those on their way (with their recent milestones and where they ride). Delivered and
 * returned parcels stay in the database, so start-up costs what is in transit, not the history.
 */
export default fp<EnginePluginOptions>(async (app, options) => {
  const sql = app.db.sql
  // start-up reads what is in transit whole: on a busy database that can outlast the timeout of a query on the hot path
  const boot = app.db.maintenanceSql
  const listenerErrors = new Counter({
    name: 'trackstream_listener_errors_total',
    help: 'In-process listeners that threw, by event: each was logged, and the others still ran',
    labelNames: ['event'],
    registers: [app.metrics]
  })
  const events = new Events<EngineEvents>((event, error) => {
    listenerErrors.inc({ event: String(event) })
    app.log.error({ err: error, event }, 'a listener failed; the others ran, and ingest goes on')
  })
  const rules: ExceptionRules = { ...LEARNED, stallSlaMs: options.exceptions.stallSlaMs, customsSlaMs: options.exceptions.customsSlaMs }
  const engine = new Engine(new Store({ geofence: options.geofence, rfidWindowMs: options.rfidWindowMs }), {
    exceptions: { rules, vehicleSilentMs: options.exceptions.vehicleSilentMs },
    eta: options.eta
  })

  const started = performance.now()
  for (const device of await selectDevices(boot)) engine.putDevice(device)
  for (const station of await selectStations(boot)) engine.putStation(station)
  for (const reader of await selectReaders(boot)) engine.putReader(reader)
  for (const vehicle of await selectVehicles(boot)) engine.putVehicle(vehicle)
  const containers = await selectContainers(boot)
  for (const container of containers) engine.putContainer(container)
  for (const fence of await selectGeofences(boot)) engine.putFence(fence)
  engine.restoreCrossings(await selectCrossings(boot))
  const positions = await selectLatestPositions(boot)
  for (const { deviceId, time, lat, lon } of positions) engine.restorePosition(deviceId, time.getTime(), lat, lon)
  engine.restoreCustody(await selectCustodyAboard(boot))
  engine.restoreCustody((await selectCustodyOf(boot, containers.map((c) => containerRef(c.id)))).filter((row) => row.carrier === null))

  const now = app.now()
  const strings = new Interner()
  let loaded = 0
  // parts of the id space side by side: the database reads some while the engine takes in another
  const ranges = idRanges(RANGES)
  const readRanges = async (): Promise<void> => {
    await withTransaction(app.db.pool, async (reader) => {
      // PostgreSQL's JIT judges a page by its row estimates, and spent 140 of 330 ms compiling
      // one that runs in 190 ms without it
      await reader.query('SET LOCAL jit = off')
      for (let range = ranges.shift(); range !== undefined; range = ranges.shift()) {
        for (let next: IdRange | null = range; next !== null;) {
          const page = await selectActivePage(reader, next, PAGE, strings)
          engine.load(page.parcels, now)
          // where each rides came with everything aboard; a parcel taken off everything keeps the time it was, so no older move undoes it
          engine.restoreCustody(page.looseCustody)
          engine.learnJourneys(journeysOf(page.parcels))
          loaded += page.parcels.length
          next = page.next
        }
      }
    }, MAINTENANCE_TIMEOUT_MS)
  }
  // the ended journeys are read meanwhile, and learnt after the ones still going, as before
  const journeys = selectRecentJourneys(boot, JOURNEYS_AT_START)
  journeys.catch(() => {})
  await Promise.all(Array.from({ length: READERS }, readRanges))
  engine.learnJourneys(await journeys)
  engine.restoreExceptions(await selectOpenExceptions(boot))
  const loadedMs = performance.now() - started
  collectGarbage()
  app.log.info({ parcels: loaded, ms: Math.round(loadedMs), gcMs: Math.round(performance.now() - started - loadedMs), rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20) }, 'tracking engine loaded the parcels on their way')

  const { parcels } = engine.store
  new Gauge({
    name: 'trackstream_engine_parcels',
    help: 'Parcels the tracking engine holds in memory: those on their way, and the few just ended kept for a late word',
    labelNames: ['set'],
    registers: [app.metrics],
    collect () {
      this.set({ set: 'on_their_way' }, parcels.size)
      this.set({ set: 'recently_ended' }, parcels.endedSize)
    }
  })
  new Gauge({
    name: 'trackstream_exception_parcels_waiting',
    help: 'Parcels waiting in the due index for the moment one of their exceptions could start to hold',
    registers: [app.metrics],
    collect () { this.set(engine.exceptions.waiting) }
  })

  // the engine follows its own fixes and commits: ETA speeds, and what the lanes learn
  events.on('positions', (moved) => { engine.etas.onPositions(moved) })
  events.on('committed', (milestones) => { engine.learn(milestones) })

  app.decorate('findParcel', async (key: string) => {
    const known = engine.find(key)
    if (known !== undefined) return known
    const record = await selectParcelByIdOrNumber(sql, key)
    if (record === undefined) return undefined
    const [custody] = await selectCustodyOf(sql, [parcelRef(record.id)])
    return engine.remember(record, custody)
  })
  app.decorate('engine', engine)
  app.decorate('events', events)
  app.decorate('startupPositions', positions)
}, { name: 'trackstream-engine', dependencies: ['trackstream-db', 'trackstream-metrics'] })

/**
 * The journeys so far of parcels loaded at start, unpacked one at a time as the lanes take them
 * in: unpacked a page at a time, they lived long enough for V8 to allocate every later unpacking
 * (each exception pass) straight into the old generation, which grew by hundreds of MiB.
 */
function * journeysOf (parcels: readonly ActiveParcel[]): Generator<LaneTimeline> {
  for (const parcel of parcels) yield { lane: parcel.lane, milestones: parcel.track.recent }
}
