import type { ActiveParcel, LivePosition, ParcelEta } from '../model.js'
import { distanceM, type LatLon } from '../tracking/geo.js'
import { etaMoved, laneEta, nextSpeed, NO_SPEED, routeArrivals, type SpeedAverage } from '../tracking/eta.js'
import { lastProgress } from '../tracking/exceptions.js'
import { expectedRemainingMs, type LaneStats } from '../tracking/lane-stats.js'
import { MILESTONES } from '../tracking/milestones.js'
import type { Store } from './store.js'

export interface EtaOptions {
  /** An ETA is pushed to the buyer only when it moves by more than this. */
  pushThresholdMs: number
  /** Time at each stop: parking, handing over, collecting the cash. */
  serviceMs: number
}

/** One pass over the vans carrying parcels, in steps. */
export interface RouteSweep {
  /** The next `limit` vans: the ETAs that moved enough to tell. */
  step: (now: number, limit: number) => ParcelEta[]
  readonly done: boolean
  /** After the last step: parcels no longer on a route, back to their lane's ETA. */
  finish: (now: number) => ParcelEta[]
}

/**
 * ETAs: from the van's position, its remaining stops and its recent speed while a parcel is out
 * for delivery (recomputed each ETA sweep, over the vans carrying parcels, never over every
 * parcel); from how long the rest of the journey took on the parcel's lane before that (computed
 * when asked, and told when a milestone moves it). A route ETA changes with every sweep, so what
 * each such buyer was last told is kept, and a new one is told only when it moves by more than
 * the threshold; a lane ETA changes only with a milestone, which is news anyway.
 */
export class EtaTracker {
  private readonly speeds = new Map<string, SpeedAverage>()
  /** The route ETA of each parcel out for delivery on a van, as last computed. */
  private readonly routes = new Map<string, ParcelEta>()
  /** What each buyer of a parcel on a van was last told. */
  private readonly told = new Map<string, ParcelEta>()

  constructor (private readonly store: Store, private readonly stats: LaneStats, private readonly options: EtaOptions) {}

  /** A van's fixes keep its speed: only vans carrying parcels, for whom an ETA is ever asked. */
  onPositions (positions: readonly LivePosition[]): void {
    for (const { vehicleId, lat, lon, time } of positions) {
      if (vehicleId === null || !this.store.custody.carries(`vehicle:${vehicleId}`)) continue
      this.speeds.set(vehicleId, nextSpeed(this.speeds.get(vehicleId) ?? NO_SPEED, { lat, lon, time }))
    }
  }

  /** The parcel's ETA now: its route's while a van brings it, its lane's before; undefined when none can be said. */
  etaOf (parcel: ActiveParcel, now: number): ParcelEta | undefined {
    return this.routes.get(parcel.id) ?? this.laneEtaOf(parcel, now)
  }

  /** Recomputes the route ETAs of every van carrying parcels out for delivery; returns those that moved enough to tell. */
  sweepRoutes (now: number): ParcelEta[] {
    const sweep = this.beginSweep()
    const moved = sweep.step(now, Infinity)
    moved.push(...sweep.finish(now))
    return moved
  }

  /**
   * The same, a few vans at a time (`step`), so a sweep over thousands of vans never holds the
   * event loop, and the acknowledgements waiting on it, for long: then `finish`.
   */
  beginSweep (): RouteSweep {
    const vehicles: string[] = []
    for (const vehicle of this.store.config.vehicles()) if (this.store.custody.carries(`vehicle:${vehicle.id}`)) vehicles.push(vehicle.id)
    const next = new Map<string, ParcelEta>()
    let at = 0
    return {
      step: (now, limit) => {
        const moved: ParcelEta[] = []
        for (const end = Math.min(vehicles.length, at + limit); at < end; at++) {
          for (const eta of this.routeEtas(vehicles[at] as string, now)) {
            next.set(eta.parcelId, eta)
            if (this.tell(eta)) moved.push(eta)
          }
        }
        return moved
      },
      get done () { return at >= vehicles.length },
      finish: (now) => {
        const moved: ParcelEta[] = []
        // a parcel that left the route (delivered, unloaded) falls back to its lane's ETA
        for (const parcelId of this.routes.keys()) {
          if (next.has(parcelId)) continue
          this.told.delete(parcelId)
          const parcel = this.store.parcels.get(parcelId)
          const lane = parcel === undefined ? undefined : this.laneEtaOf(parcel, now)
          if (lane !== undefined) moved.push(lane)
        }
        this.routes.clear()
        for (const [parcelId, eta] of next) {
          // delivered while the sweep went on: no route ETA any more
          const parcel = this.store.parcels.get(parcelId)
          if (parcel !== undefined && !MILESTONES[parcel.status].final) this.routes.set(parcelId, eta)
        }
        return moved
      }
    }
  }

  private routeEtas (vehicleId: string, now: number): ParcelEta[] {
    const at = this.store.vehiclePosition(vehicleId)
    if (at === undefined) return []
    const due: Array<{ parcel: ActiveParcel, lat: number, lon: number, serviceMs: number }> = []
    for (const parcel of this.store.parcelsAboard(vehicleId)) {
      if (parcel.status === 'out_for_delivery' && parcel.destination !== null) due.push({ parcel, lat: parcel.destination.lat, lon: parcel.destination.lon, serviceMs: this.options.serviceMs })
    }
    const stops = deliveryOrder(at, due)
    const arrivals = routeArrivals({ vehicle: at, speedMps: this.speeds.get(vehicleId)?.mps ?? null, stops, now })
    return stops.map((stop, i) => ({ parcelId: stop.parcel.id, eta: arrivals[i] as number, basis: 'route' as const }))
  }

  /** A milestone moved the parcel on: its lane ETA, if that is news for the buyer. */
  onMilestone (parcel: ActiveParcel, now: number): ParcelEta | undefined {
    if (MILESTONES[parcel.status].final) {
      this.told.delete(parcel.id)
      this.routes.delete(parcel.id)
      return undefined
    }
    return this.routes.has(parcel.id) ? undefined : this.laneEtaOf(parcel, now)
  }

  private laneEtaOf (parcel: ActiveParcel, now: number): ParcelEta | undefined {
    if (MILESTONES[parcel.status].final) return undefined
    const progress = lastProgress(parcel.track.recent)
    if (progress === undefined) return undefined
    const remaining = expectedRemainingMs(this.stats, parcel.lane, progress.code, 'delivered', { minSamples: 5 })
    return remaining === undefined ? undefined : { parcelId: parcel.id, ...laneEta(progress, remaining, now) }
  }

  /** Whether this ETA is news: a new basis, or moved by more than the threshold. Remembers it if so. */
  private tell (eta: ParcelEta): boolean {
    const previous = this.told.get(eta.parcelId)
    if (previous !== undefined && previous.basis === eta.basis && !etaMoved(previous.eta, eta.eta, this.options.pushThresholdMs)) return false
    this.told.set(eta.parcelId, eta)
    return true
  }
}

/** The order a van makes its stops, without a route plan: always the nearest next. */
function deliveryOrder<S extends LatLon> (from: LatLon, stops: S[]): S[] {
  const left = [...stops]
  const order: S[] = []
  let here = from
  while (left.length > 0) {
    let best = 0
    let bestM = Infinity
    for (let i = 0; i < left.length; i++) {
      const metres = distanceM(here, left[i] as S)
      if (metres < bestM) { best = i; bestM = metres }
    }
    const [stop] = left.splice(best, 1) as [S]
    order.push(stop)
    here = stop
  }
  return order
}
