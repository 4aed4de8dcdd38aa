import { distanceM, type LatLon } from './geo.js'
import type { MilestoneCode } from './milestones.js'

/**
 * Estimated times of arrival. Pure: no clock (`now` is always passed in), no I/O.
 *
 * - `routeEta`: a parcel out for delivery, from the van's last position, its recent speed and
 *   the stops it still has to make before this parcel's;
 * - `laneEta`: a parcel earlier in its journey, from its last milestone and the lane's history;
 * - `etaMoved`: whether a new ETA differs enough from the last one told to the buyer to tell again.
 */

/** One GPS fix: where the vehicle was, and when (ms epoch). */
export interface Fix extends LatLon {
  time: number
}

export interface Stop extends LatLon {
  /** How long the driver spends at this stop: parking, handing over, collecting the cash. */
  serviceMs: number
}

/**
 * A vehicle's recent ground speed: an exponentially weighted moving average over time, and the fix
 * the next measurement starts from.
 */
export interface SpeedAverage {
  /** Metres per second; null until the vehicle has been seen moving. */
  mps: number | null
  /** The fix the next distance is measured from: it stays put while the vehicle stands still. */
  anchor: Fix | null
}

export interface SpeedOptions {
  /** How long until a new speed counts for half the average. */
  halfLifeMs?: number
  /** A fix closer than this to the anchor is GPS noise around a standing vehicle. */
  stationaryRadiusM?: number
  /**
   * Standing still for less than this (a traffic light, a short queue) is not measured on its own;
   * longer counts as driving at zero speed. Raise it above the usual time at a stop to keep stops
   * out of the average: `routeEta` adds each stop's service time on its own.
   */
  stationaryMs?: number
  /** The fastest a delivery van plausibly averages in town; a faster reading is capped to it. */
  maxMps?: number
}

export interface RouteEtaOptions {
  /** Roads are longer than great circles: about 1.3 in towns. */
  detourFactor?: number
  /** The speed assumed when the van has no speed history. */
  defaultMps?: number
  /** The slowest speed assumed, so a parked van still gets a finite ETA. */
  floorMps?: number
}

export interface RouteEtaInput {
  /** The vehicle's last known position and when it was there. */
  vehicle: Fix
  /** Its recent ground speed (`SpeedAverage.mps`); null without history. */
  speedMps: number | null
  /** The stops it still has to make, in the order it will make them. */
  stops: readonly Stop[]
  /** Which of `stops` is this parcel's. */
  stopIndex: number
  now: number
}

export interface RouteEta {
  eta: number
  basis: 'route'
  /** How many stops the van makes before this parcel's. */
  stopsBefore: number
}

export interface LaneEta {
  eta: number
  basis: 'lane'
}

const KMH = 1000 / 3600

export const DEFAULT_SPEED_OPTIONS = {
  halfLifeMs: 5 * 60_000,
  stationaryRadiusM: 30,
  stationaryMs: 120_000,
  maxMps: 80 * KMH
} as const satisfies Required<SpeedOptions>

export const DEFAULT_ROUTE_OPTIONS = {
  detourFactor: 1.3,
  defaultMps: 20 * KMH,
  floorMps: 5 * KMH
} as const satisfies Required<RouteEtaOptions>

export const NO_SPEED: SpeedAverage = { mps: null, anchor: null }

/**
 * Folds one GPS fix into the speed average. The speed is the distance from the anchor over the
 * time since it, weighted by that time (a half-life, not a per-fix weight, since fixes come at
 * irregular intervals). While the vehicle stays within `stationaryRadiusM` of the anchor its fixes
 * are ignored, so jitter around a standing van is not read as motion; the time spent there counts
 * in the next measurement, as a traffic light's does in an urban average. After `stationaryMs`
 * standing still it counts as a stretch at zero speed, and the average falls towards the floor
 * the ETA applies. Readings faster than `maxMps` are capped; out-of-order fixes are dropped. Pure.
 */
export function nextSpeed (avg: SpeedAverage, fix: Fix, options: SpeedOptions = {}): SpeedAverage {
  const halfLifeMs = options.halfLifeMs ?? DEFAULT_SPEED_OPTIONS.halfLifeMs
  const stationaryRadiusM = options.stationaryRadiusM ?? DEFAULT_SPEED_OPTIONS.stationaryRadiusM
  const stationaryMs = options.stationaryMs ?? DEFAULT_SPEED_OPTIONS.stationaryMs
  const maxMps = options.maxMps ?? DEFAULT_SPEED_OPTIONS.maxMps
  if (!validFix(fix)) return avg
  const anchor = avg.anchor
  if (anchor === null) return { mps: avg.mps, anchor: fix }
  const dt = fix.time - anchor.time
  if (dt <= 0) return avg
  const distance = distanceM(anchor, fix)
  if (distance < stationaryRadiusM) {
    if (dt < stationaryMs) return avg
    // Standing still for a while: a zero-speed stretch, unless there is no driving speed to lower yet
    return { mps: avg.mps === null ? null : blend(avg.mps, 0, dt, halfLifeMs), anchor: fix }
  }
  const measured = Math.min(distance / (dt / 1000), maxMps)
  return { mps: avg.mps === null ? measured : blend(avg.mps, measured, dt, halfLifeMs), anchor: fix }
}

function blend (average: number, measured: number, dt: number, halfLifeMs: number): number {
  const weight = 1 - Math.pow(2, -dt / halfLifeMs)
  return average + (measured - average) * weight
}

/**
 * When the van reaches this parcel's stop: the great-circle legs from its last position through
 * every stop before this parcel's, times the detour factor, at its recent speed (the default
 * without history, never below the floor), plus the service time of each stop before. The van is
 * taken to be where it was last seen, from `now` on: a stale fix makes the ETA later, never earlier.
 */
export function routeEta (input: RouteEtaInput, options: RouteEtaOptions = {}): RouteEta {
  const { stops, stopIndex } = input
  if (!Number.isInteger(stopIndex) || stopIndex < 0 || stopIndex >= stops.length) {
    throw new RangeError(`stopIndex ${stopIndex} is not one of the ${stops.length} remaining stops`)
  }
  return { eta: routeArrivals(input, options)[stopIndex] as number, basis: 'route', stopsBefore: stopIndex }
}

/**
 * `routeEta` for every stop at once, in their order: one pass along the route, where asking for
 * each stop in turn would walk it again from the van each time.
 */
export function routeArrivals (input: Omit<RouteEtaInput, 'stopIndex'>, options: RouteEtaOptions = {}): number[] {
  const detourFactor = options.detourFactor ?? DEFAULT_ROUTE_OPTIONS.detourFactor
  const defaultMps = options.defaultMps ?? DEFAULT_ROUTE_OPTIONS.defaultMps
  const floorMps = options.floorMps ?? DEFAULT_ROUTE_OPTIONS.floorMps
  const { vehicle, stops, now } = input
  const recent = input.speedMps !== null && Number.isFinite(input.speedMps) ? input.speedMps : defaultMps
  const mps = Math.max(floorMps, recent)
  const start = Math.max(now, Number.isFinite(vehicle.time) ? vehicle.time : now)
  const arrivals: number[] = []
  let metres = 0
  let serviceMs = 0
  let from: LatLon = vehicle
  for (const stop of stops) {
    metres += distanceM(from, stop)
    arrivals.push(Math.round(start + metres * detourFactor / mps * 1000 + serviceMs))
    serviceMs += Math.max(0, stop.serviceMs)
    from = stop
  }
  return arrivals
}

/**
 * A parcel earlier in its journey arrives the lane's usual remaining time after its last milestone;
 * never before `now`, so a late parcel's ETA is "any moment now" rather than in the past.
 */
export function laneEta (lastMilestone: { code: MilestoneCode, time: number }, expectedRemainingMs: number, now: number): LaneEta {
  const eta = lastMilestone.time + Math.max(0, expectedRemainingMs)
  return { eta: Math.round(Math.max(now, eta)), basis: 'lane' }
}

/** Whether to tell the buyer: the first ETA always, later ones when they move by more than the threshold. */
export function etaMoved (previous: number | null, next: number, thresholdMs: number): boolean {
  return previous === null || Math.abs(next - previous) > thresholdMs
}

function validFix (fix: Fix): boolean {
  return Number.isFinite(fix.lat) && Number.isFinite(fix.lon) && Number.isFinite(fix.time)
}
