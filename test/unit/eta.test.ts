import { describe, expect, it } from 'vitest'
import {
  DEFAULT_ROUTE_OPTIONS,
  DEFAULT_SPEED_OPTIONS,
  etaMoved,
  laneEta,
  nextSpeed,
  NO_SPEED,
  routeArrivals,
  routeEta,
  type Fix,
  type SpeedAverage,
  type Stop
} from '../../server/tracking/eta.js'
import { METRES_PER_DEGREE, type LatLon } from '../../server/tracking/geo.js'

const T0 = Date.UTC(2026, 10, 23, 3, 0, 0)
const SEC = 1000
const MIN = 60 * SEC
const HOUR = 60 * MIN
const DEPOT: LatLon = { lat: 13.7, lon: 100.5 }

/** A point `north` metres north and `east` metres east of `from` (flat enough at these distances). */
function offset (from: LatLon, north: number, east = 0): LatLon {
  return {
    lat: from.lat + north / METRES_PER_DEGREE,
    lon: from.lon + east / (METRES_PER_DEGREE * Math.cos(from.lat * Math.PI / 180))
  }
}

function fixAt (seconds: number, where: LatLon): Fix {
  return { ...where, time: T0 + seconds * SEC }
}

function stop (north: number, serviceMs = 3 * MIN, east = 0): Stop {
  return { ...offset(DEPOT, north, east), serviceMs }
}

/** GPS noise around a standing van: a repeating pattern of offsets up to 8 m, 2 to 12 m apart. */
const JITTER: Array<[number, number]> = [[0, 0], [6, -2], [-4, 5], [2, 8], [-6, -3], [5, 5], [-2, -6], [8, 1]]

function jittered (where: LatLon, i: number): LatLon {
  const [north, east] = JITTER[i % JITTER.length] ?? [0, 0]
  return offset(where, north, east)
}

/** The same noise, across the road only, so it does not move the van nearer to or further from its stop. */
function jitteredAcross (where: LatLon, i: number): LatLon {
  const [north, east] = JITTER[i % JITTER.length] ?? [0, 0]
  return offset(where, 0, Math.hypot(north, east))
}

/** Folds fixes into the speed average, keeping every intermediate average. */
function track (fixes: Fix[], start: SpeedAverage = NO_SPEED): SpeedAverage[] {
  const averages: SpeedAverage[] = []
  let avg = start
  for (const fix of fixes) {
    avg = nextSpeed(avg, fix)
    averages.push(avg)
  }
  return averages
}

/** A van driving north from `from` at `mps`, a fix every `everySeconds`, starting at `startSeconds`. */
function drive (from: LatLon, startSeconds: number, durationSeconds: number, mps: number, everySeconds = 10): Fix[] {
  const fixes: Fix[] = []
  for (let s = 0; s <= durationSeconds; s += everySeconds) fixes.push(fixAt(startSeconds + s, offset(from, s * mps)))
  return fixes
}

function last<T> (items: readonly T[]): T {
  const item = items[items.length - 1]
  if (item === undefined) throw new Error('empty')
  return item
}

describe('routeEta timelines', () => {
  it('a van driving towards the parcel: the time left falls at every fix and the ETA settles on the true arrival', () => {
    // 36 km/h on a straight road (detour 1) to the parcel's stop 6 km north; the van has no history yet
    const parcel = stop(6000)
    const fixes = drive(DEPOT, 0, 590, 10)
    const averages = track(fixes)
    const etas = fixes.map((fix, i) => routeEta({ vehicle: fix, speedMps: averages[i]?.mps ?? null, stops: [parcel], stopIndex: 0, now: fix.time }, { detourFactor: 1 }))

    // the first ETA uses the default urban speed: 6 km at 20 km/h
    expect(etas[0]).toEqual({ eta: T0 + 1080 * SEC, basis: 'route', stopsBefore: 0 })
    const left = etas.map((e, i) => e.eta - (fixes[i]?.time ?? 0))
    for (let i = 1; i < left.length; i++) expect(left[i]).toBeLessThan(left[i - 1] ?? 0)
    // once the van has been seen moving, the ETA is the true arrival, 10 minutes after it set off
    for (const e of etas.slice(1)) expect(Math.abs(e.eta - (T0 + 600 * SEC))).toBeLessThanOrEqual(1)
    expect(etas.every((e, i) => e.eta >= (fixes[i]?.time ?? 0))).toBe(true)
  })

  it('adds each leg through the stops before the parcel, times the detour factor, and their service times', () => {
    const stops = [stop(2000), stop(4000), stop(6000)]
    const vehicle = fixAt(0, DEPOT)
    const eta = routeEta({ vehicle, speedMps: 10, stops, stopIndex: 2, now: T0 })
    // 6 km × 1.3 at 10 m/s is 780 s, plus 3 minutes at each of the 2 stops before; not the parcel's own
    expect(eta.stopsBefore).toBe(2)
    expect(eta.basis).toBe('route')
    expect(Math.abs(eta.eta - (T0 + (780 + 360) * SEC))).toBeLessThanOrEqual(1)
    expect(DEFAULT_ROUTE_OPTIONS.detourFactor).toBe(1.3)
    const straight = routeEta({ vehicle, speedMps: 10, stops, stopIndex: 2, now: T0 }, { detourFactor: 1 })
    expect(Math.abs(straight.eta - (T0 + (600 + 360) * SEC))).toBeLessThanOrEqual(1)
  })

  it('gives every stop of a route in one pass what it gives each stop asked for alone', () => {
    const stops = [stop(1000), stop(2500, 2 * MIN), stop(2500, 5 * MIN, 300), stop(5000)]
    const vehicle = fixAt(0, DEPOT)
    const arrivals = routeArrivals({ vehicle, speedMps: 8, stops, now: T0 }, { detourFactor: 1.1 })
    expect(arrivals).toEqual(stops.map((_, stopIndex) => routeEta({ vehicle, speedMps: 8, stops, stopIndex, now: T0 }, { detourFactor: 1.1 }).eta))
    // the first stop: 1 km × 1.1 at 8 m/s
    expect(Math.abs((arrivals[0] ?? 0) - (T0 + 137.5 * SEC))).toBeLessThanOrEqual(1)
    expect(routeArrivals({ vehicle, speedMps: 8, stops: [], now: T0 })).toEqual([])
  })

  it('gives later ETAs to the stops further down the list', () => {
    const stops = [stop(1000), stop(2500, 2 * MIN), stop(2500, 5 * MIN, 300), stop(5000)]
    const etas = stops.map((_, stopIndex) => routeEta({ vehicle: fixAt(0, DEPOT), speedMps: 8, stops, stopIndex, now: T0 }))
    expect(etas.map((e) => e.stopsBefore)).toEqual([0, 1, 2, 3])
    for (let i = 1; i < etas.length; i++) expect(etas[i]?.eta).toBeGreaterThan(etas[i - 1]?.eta ?? Infinity)
  })

  it('more stops before this parcel make a later ETA, even stops on the way and stops with no detour', () => {
    const parcel = stop(5000)
    const vehicle = fixAt(0, DEPOT)
    const direct = routeEta({ vehicle, speedMps: 8, stops: [parcel], stopIndex: 0, now: T0 })
    // two stops on the way: same distance, two service times more
    const onTheWay = routeEta({ vehicle, speedMps: 8, stops: [stop(1000), stop(3000), parcel], stopIndex: 2, now: T0 })
    // and a third one off to the side: more distance too
    const withDetour = routeEta({ vehicle, speedMps: 8, stops: [stop(1000), stop(2000, 3 * MIN, 1500), stop(3000), parcel], stopIndex: 3, now: T0 })
    expect([direct.stopsBefore, onTheWay.stopsBefore, withDetour.stopsBefore]).toEqual([0, 2, 3])
    expect(Math.abs(onTheWay.eta - direct.eta - 6 * MIN)).toBeLessThanOrEqual(1)
    expect(withDetour.eta - onTheWay.eta).toBeGreaterThan(3 * MIN)
    // the stops after the parcel's do not matter
    const withLater = routeEta({ vehicle, speedMps: 8, stops: [parcel, stop(9000), stop(12000)], stopIndex: 0, now: T0 })
    expect(withLater.eta).toBe(direct.eta)
  })

  it('a stopped van: the ETA stays finite and grows with the wait, faster once the van counts as parked', () => {
    const parcel = stop(3000 + 3000)
    const driving = drive(DEPOT, 0, 300, 10)
    const parkedAt = offset(DEPOT, 3000)
    const parked = Array.from({ length: 360 }, (_, i) => fixAt(310 + i * 10, jitteredAcross(parkedAt, i)))
    const averages = track([...driving, ...parked])
    const etas = parked.map((fix, i) => routeEta({ vehicle: fix, speedMps: averages[driving.length + i]?.mps ?? null, stops: [parcel], stopIndex: 0, now: fix.time }).eta)

    expect(etas.every(Number.isFinite)).toBe(true)
    for (let i = 1; i < etas.length; i++) expect(etas[i]).toBeGreaterThan(etas[i - 1] ?? Infinity)
    // for the first two minutes the noise is ignored and the speed kept: the ETA slips exactly with the clock
    expect(Math.abs((etas[10] ?? 0) - (etas[0] ?? 0) - 100 * SEC)).toBeLessThanOrEqual(10)
    // after an hour parked the speed is below the floor: 3 km × 1.3 at 5 km/h from now
    const atLast = last(parked).time
    expect(Math.abs(last(etas) - (atLast + 3000 * 1.3 / DEFAULT_ROUTE_OPTIONS.floorMps * SEC))).toBeLessThanOrEqual(100)
    expect(last(etas) - (etas[0] ?? 0)).toBeGreaterThan(atLast - (parked[0]?.time ?? 0))
  })

  it('a van reporting zero speed, or no speed, still gets a finite ETA', () => {
    const stops = [stop(3000)]
    const zero = routeEta({ vehicle: fixAt(0, DEPOT), speedMps: 0, stops, stopIndex: 0, now: T0 })
    const none = routeEta({ vehicle: fixAt(0, DEPOT), speedMps: null, stops, stopIndex: 0, now: T0 })
    expect(Math.abs(zero.eta - (T0 + 3000 * 1.3 / DEFAULT_ROUTE_OPTIONS.floorMps * SEC))).toBeLessThanOrEqual(1)
    expect(Math.abs(none.eta - (T0 + 3000 * 1.3 / DEFAULT_ROUTE_OPTIONS.defaultMps * SEC))).toBeLessThanOrEqual(1)
  })

  it('never starts before now, nor before the fix', () => {
    const stops = [stop(0)]
    // a stale fix: the van is taken to be where it was last seen
    expect(routeEta({ vehicle: fixAt(0, DEPOT), speedMps: 10, stops, stopIndex: 0, now: T0 + HOUR }).eta).toBe(T0 + HOUR)
    // a fix stamped ahead of the server's clock
    expect(routeEta({ vehicle: fixAt(30, DEPOT), speedMps: 10, stops, stopIndex: 0, now: T0 }).eta).toBe(T0 + 30 * SEC)
  })

  it('refuses a stop index outside the remaining stops', () => {
    const input = { vehicle: fixAt(0, DEPOT), speedMps: 10, stops: [stop(1000)], now: T0 }
    expect(() => routeEta({ ...input, stopIndex: 1 })).toThrow(RangeError)
    expect(() => routeEta({ ...input, stopIndex: -1 })).toThrow(RangeError)
    expect(() => routeEta({ ...input, stopIndex: 0.5 })).toThrow(RangeError)
    expect(() => routeEta({ ...input, stops: [], stopIndex: 0 })).toThrow(RangeError)
  })
})

describe('nextSpeed', () => {
  it('starts from the first fix with no speed, then takes the first measured speed as it is', () => {
    const first = nextSpeed(NO_SPEED, fixAt(0, DEPOT))
    expect(first).toEqual({ mps: null, anchor: fixAt(0, DEPOT) })
    const second = nextSpeed(first, fixAt(10, offset(DEPOT, 120)))
    expect(second.mps).toBeCloseTo(12, 6)
  })

  it('ignores GPS noise around a van standing at a light', () => {
    const driving = drive(DEPOT, 0, 180, 10)
    const atLight = offset(DEPOT, 1800)
    // 90 s at the light, a fix every 2 s, each up to 12 m from the one before: 6 m/s if read naively
    const standing = Array.from({ length: 45 }, (_, i) => fixAt(182 + i * 2, jittered(atLight, i + 1)))
    const averages = track([...driving, ...standing])
    const beforeLight = averages[driving.length - 1]
    expect(beforeLight?.mps).toBeCloseTo(10, 6)
    for (const avg of averages.slice(driving.length)) expect(avg).toBe(beforeLight)

    // driving on, the time at the light counts in the next measurement, as in any town average
    const after = nextSpeed(last(averages), fixAt(280, offset(atLight, 100)))
    expect(after.mps).toBeGreaterThan(5)
    expect(after.mps).toBeLessThan(10)
  })

  it('lowers the speed while the van stays parked past the stationary window, and never reads the jitter as motion', () => {
    const driving = drive(DEPOT, 0, 120, 10)
    const parkedAt = offset(DEPOT, 1200)
    const parked = Array.from({ length: 240 }, (_, i) => fixAt(130 + i * 10, jittered(parkedAt, i)))
    const averages = track([...driving, ...parked]).slice(driving.length - 1)
    const speeds = averages.map((avg) => avg.mps ?? NaN)
    for (let i = 1; i < speeds.length; i++) expect(speeds[i]).toBeLessThanOrEqual(speeds[i - 1] ?? 0)
    // unchanged inside the window, lower after it
    expect(speeds.findIndex((mps) => mps < 10)).toBe(DEFAULT_SPEED_OPTIONS.stationaryMs / (10 * SEC))
    expect(last(speeds)).toBeLessThan(0.1)
  })

  it('keeps no speed for a van that has only ever stood still', () => {
    const parked = Array.from({ length: 100 }, (_, i) => fixAt(i * 10, jittered(DEPOT, i)))
    expect(last(track(parked)).mps).toBeNull()
  })

  it('caps a GPS jump at a plausible urban speed', () => {
    const jumped = track([fixAt(0, DEPOT), fixAt(10, offset(DEPOT, 5000))])
    expect(last(jumped).mps).toBe(DEFAULT_SPEED_OPTIONS.maxMps)
    const seen = nextSpeed(NO_SPEED, fixAt(0, DEPOT), { maxMps: 15 })
    expect(nextSpeed(seen, fixAt(10, offset(DEPOT, 5000)), { maxMps: 15 }).mps).toBe(15)
  })

  it('weights a reading by the time it covers, with the configured half-life', () => {
    const start: SpeedAverage = { mps: 10, anchor: fixAt(0, DEPOT) }
    // 5 minutes at 2 m/s: one half-life, so halfway from 10 to 2
    expect(nextSpeed(start, fixAt(300, offset(DEPOT, 600))).mps).toBeCloseTo(6, 6)
    // 10 s at 6 m/s barely moves it
    const brief = nextSpeed(start, fixAt(10, offset(DEPOT, 60)))
    expect(brief.mps).toBeCloseTo(10 - 4 * (1 - Math.pow(2, -10 / 300)), 6)
    expect(nextSpeed(start, fixAt(300, offset(DEPOT, 600)), { halfLifeMs: 150 * SEC }).mps).toBeCloseTo(4, 6)
  })

  it('drops a fix older than, or as old as, the one it measures from', () => {
    const avg: SpeedAverage = { mps: 10, anchor: fixAt(100, DEPOT) }
    expect(nextSpeed(avg, fixAt(90, offset(DEPOT, 500)))).toBe(avg)
    expect(nextSpeed(avg, fixAt(100, offset(DEPOT, 500)))).toBe(avg)
    expect(nextSpeed(avg, { lat: Number.NaN, lon: 100.5, time: T0 + 200 * SEC })).toBe(avg)
  })
})

describe('etaMoved', () => {
  it('counts the first ETA as moved', () => {
    expect(etaMoved(null, T0, 5 * MIN)).toBe(true)
  })

  it('counts an ETA as moved only past the threshold, earlier or later', () => {
    const previous = T0 + HOUR
    expect(etaMoved(previous, previous, 5 * MIN)).toBe(false)
    expect(etaMoved(previous, previous + 4 * MIN, 5 * MIN)).toBe(false)
    expect(etaMoved(previous, previous + 5 * MIN, 5 * MIN)).toBe(false)
    expect(etaMoved(previous, previous + 5 * MIN + 1, 5 * MIN)).toBe(true)
    expect(etaMoved(previous, previous - 5 * MIN - 1, 5 * MIN)).toBe(true)
  })

  it('pushes a slipping ETA once per threshold, not at every fix', () => {
    // a van parked by the parcel's stop: its ETA slips 10 s with every fix
    let told: number | null = null
    const pushes: number[] = []
    for (let s = 0; s <= 30 * 60; s += 10) {
      const eta = T0 + (s + 600) * SEC
      if (etaMoved(told, eta, 5 * MIN)) {
        told = eta
        pushes.push(s)
      }
    }
    expect(pushes).toEqual([0, 310, 620, 930, 1240, 1550])
  })
})

describe('laneEta', () => {
  const pickedUp = { code: 'picked_up' as const, time: T0 }

  it('is the last milestone plus the lane\'s usual remaining time', () => {
    expect(laneEta(pickedUp, 30 * HOUR, T0 + 2 * HOUR)).toEqual({ eta: T0 + 30 * HOUR, basis: 'lane' })
  })

  it('is never in the past: a parcel later than usual is due from now on', () => {
    expect(laneEta(pickedUp, 30 * HOUR, T0 + 40 * HOUR)).toEqual({ eta: T0 + 40 * HOUR, basis: 'lane' })
    expect(laneEta(pickedUp, 30 * HOUR, T0 + 30 * HOUR)).toEqual({ eta: T0 + 30 * HOUR, basis: 'lane' })
    expect(laneEta(pickedUp, -5 * HOUR, T0 + HOUR).eta).toBe(T0 + HOUR)
    for (let hours = 0; hours < 100; hours += 7) expect(laneEta(pickedUp, 24 * HOUR, T0 + hours * HOUR).eta).toBeGreaterThanOrEqual(T0 + hours * HOUR)
  })
})
