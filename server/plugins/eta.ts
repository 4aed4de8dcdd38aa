import fp from 'fastify-plugin'
import type { ParcelEta } from '../live/bus.js'
import { vehiclePosition } from '../pipeline/custody-moves.js'
import { laneOf } from '../state/registry.js'
import { vehicleRef } from '../tracking/custody.js'
import { distanceM, type LatLon } from '../tracking/geo.js'
import { etaMoved, laneEta, nextSpeed, NO_SPEED, routeEta, type SpeedAverage } from '../tracking/eta.js'
import { lastProgress } from '../tracking/exceptions.js'
import { expectedRemainingMs } from '../tracking/lane-stats.js'
import { MILESTONES } from '../tracking/milestones.js'
import { RecurringProblem } from '../util/recurring-problem.js'
import { cooperative } from '../util/yield.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Each parcel's current ETA, as last pushed. */
    etas: ReadonlyMap<string, ParcelEta>
    /** Recomputes every ETA now; the timer does it every ETA_SWEEP_MS. */
    sweepEtas: () => Promise<void>
  }
}

export interface EtaPluginOptions {
  sweepMs: number
  /** An ETA is pushed to the buyer only when it moves by more than this. */
  pushThresholdMs: number
  /** Time at each stop: parking, handing over, collecting the cash. */
  serviceMs: number
}

/**
 * ETAs: from the van's position, its remaining stops and its recent speed while a parcel is out
 * for delivery; from how long the rest of the journey took on the parcel's lane before that.
 * Pushed on the bus (to the buyer's live channel) only when they move by more than the threshold.
 */
export default fp<EtaPluginOptions>(async (app, options) => {
  const { registry, deviceState } = app
  const speeds = new Map<string, SpeedAverage>()
  const etas = new Map<string, ParcelEta>()

  const unsubscribe = app.bus.subscribe((event) => {
    if (event.kind !== 'positions') return
    for (const { vehicleId, lat, lon, time } of event.positions) {
      if (vehicleId === null || !registry.custody.carries(vehicleRef(vehicleId))) continue
      speeds.set(vehicleId, nextSpeed(speeds.get(vehicleId) ?? NO_SPEED, { lat, lon, time }))
    }
  })

  // a sweep looks at every vehicle and parcel: it gives the event loop back every few milliseconds
  const sweep = async (): Promise<void> => {
    const now = app.now()
    const next = new Map<string, ParcelEta>()
    const pause = cooperative()
    for (const vehicle of registry.vehicles.values()) {
      await pause()
      const at = vehiclePosition(registry, deviceState, vehicle.id)
      if (at === undefined) continue
      const stops = deliveryOrder(at, registry.custody.parcelsIn(vehicleRef(vehicle.id)).flatMap((id) => {
        const parcel = registry.parcels.get(id)
        const { lat, lon } = parcel?.destination ?? {}
        return parcel?.status === 'out_for_delivery' && lat != null && lon != null ? [{ parcel, lat, lon, serviceMs: options.serviceMs }] : []
      }))
      stops.forEach((stop, stopIndex) => {
        const { eta } = routeEta({ vehicle: at, speedMps: speeds.get(vehicle.id)?.mps ?? null, stops, stopIndex, now })
        next.set(stop.parcel.id, { parcelId: stop.parcel.id, eta, basis: 'route' })
      })
    }
    for (const parcel of registry.parcels.values()) {
      await pause()
      if (next.has(parcel.id) || MILESTONES[parcel.status].final) continue
      const progress = lastProgress(parcel.track.recent)
      const remaining = progress === undefined ? undefined : expectedRemainingMs(app.laneStats, laneOf(parcel), progress.code, 'delivered', { minSamples: 5 })
      if (progress !== undefined && remaining !== undefined) next.set(parcel.id, { parcelId: parcel.id, ...laneEta(progress, remaining, now) })
    }
    const moved: ParcelEta[] = []
    for (const [parcelId, eta] of next) {
      const previous = etas.get(parcelId)
      if (previous !== undefined && previous.basis === eta.basis && !etaMoved(previous.eta, eta.eta, options.pushThresholdMs)) continue
      etas.set(parcelId, eta)
      moved.push(eta)
    }
    for (const parcelId of etas.keys()) if (!next.has(parcelId)) etas.delete(parcelId)
    if (moved.length > 0) app.bus.publish({ kind: 'etas', etas: moved })
  }

  let running = false
  const problem = new RecurringProblem(app.log, 'ETA sweep')
  const timer = setInterval(() => {
    if (running) return
    running = true
    sweep()
      .then(() => { problem.succeeded() }, (error: unknown) => { problem.failed(error) })
      .finally(() => { running = false })
  }, options.sweepMs).unref()
  app.decorate('etas', etas)
  app.decorate('sweepEtas', sweep)
  app.addHook('onClose', async () => {
    clearInterval(timer)
    unsubscribe()
  })
}, { name: 'trackstream-eta', dependencies: ['trackstream-state', 'trackstream-pipeline', 'trackstream-exceptions'] })

/** The order a van makes its stops, without a route plan: always the nearest next. */
function deliveryOrder<S extends LatLon> (from: LatLon, stops: S[]): S[] {
  const left = [...stops]
  const order: S[] = []
  let here = from
  while (left.length > 0) {
    let best = 0
    for (let i = 1; i < left.length; i++) if (distanceM(here, left[i] as S) < distanceM(here, left[best] as S)) best = i
    const [stop] = left.splice(best, 1) as [S]
    order.push(stop)
    here = stop
  }
  return order
}
