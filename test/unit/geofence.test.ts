import { describe, expect, it } from 'vitest'
import { distanceM, distanceToRingM, METRES_PER_DEGREE, pointInRing, type LatLon, type Ring } from '../../server/tracking/geo.js'
import {
  compileFences,
  nextOnFix,
  type CompiledFences,
  type FenceTransition,
  type Geofence,
  type GeofenceConfig,
  type GeofenceFix,
  type VehicleFenceState
} from '../../server/tracking/geofence.js'

const T0 = Date.UTC(2026, 10, 23, 3, 0, 0)
const SEC = 1000
const DEPOT: LatLon = { lat: 13.7563, lon: 100.5018 }
const CONFIG: GeofenceConfig = { hysteresisM: 30, minDwellMs: 60 * SEC, maxAccuracyM: 50 }

/** A point `northM` metres north and `eastM` metres east of the depot. */
function at (northM: number, eastM: number): LatLon {
  return {
    lat: DEPOT.lat + northM / METRES_PER_DEGREE,
    lon: DEPOT.lon + eastM / (METRES_PER_DEGREE * Math.cos(DEPOT.lat * Math.PI / 180))
  }
}

function vertex (northM: number, eastM: number): [number, number] {
  const p = at(northM, eastM)
  return [p.lon, p.lat]
}

/** A fix `seconds` after T0, `eastM` metres east of the depot (and `northM` north). */
function fix (seconds: number, eastM: number, northM = 0, accuracy?: number): GeofenceFix {
  return { time: T0 + seconds * SEC, ...at(northM, eastM), ...(accuracy === undefined ? {} : { accuracy }) }
}

function enter (fenceId: string, seconds: number): FenceTransition {
  return { fenceId, kind: 'enter', time: T0 + seconds * SEC }
}

function exit (fenceId: string, seconds: number): FenceTransition {
  return { fenceId, kind: 'exit', time: T0 + seconds * SEC }
}

/** The depot: a 150 m circle around DEPOT, so "inside" is eastM <= 150 and "outside" eastM > 180. */
const depot: Geofence = { id: 'depot', shape: { type: 'circle', ...DEPOT, radiusM: 150 } }
/**
 * A concave yard, an L 400 m wide: everything from 1 km to 1.4 km east, 0 to 400 m north, except
 * the notch from 1.2 km east and 200 m north up.
 */
const yard: Geofence = {
  id: 'yard',
  shape: { type: 'polygon', ring: [vertex(0, 1000), vertex(0, 1400), vertex(200, 1400), vertex(200, 1200), vertex(400, 1200), vertex(400, 1000), vertex(0, 1000)] }
}
const FENCES = compileFences([depot, yard], CONFIG)

/** Folds a timeline of fixes over a vehicle's state, collecting every transition. */
function replay (fixes: GeofenceFix[], fences: CompiledFences = FENCES, start?: VehicleFenceState, config = CONFIG): { state: VehicleFenceState | undefined, emitted: FenceTransition[] } {
  let state = start
  const emitted: FenceTransition[] = []
  for (const f of fixes) {
    const step = nextOnFix(state, f, fences, config)
    state = step.state
    emitted.push(...step.transitions)
  }
  return { state, emitted }
}

function insideOf (state: VehicleFenceState | undefined): string[] {
  return (state?.fences ?? []).filter((m) => m.inside).map((m) => m.fenceId)
}

/** Mulberry32: a tiny seeded generator, so a failing random walk replays exactly. */
function random (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('geo', () => {
  it('measures one degree of latitude as about 111.2 km, anywhere', () => {
    expect(distanceM({ lat: 0, lon: 0 }, { lat: 1, lon: 0 })).toBeCloseTo(111_195, -1)
    expect(distanceM({ lat: 45, lon: 7 }, { lat: 46, lon: 7 })).toBeCloseTo(111_195, -1)
  })

  it('shrinks a degree of longitude with the cosine of the latitude', () => {
    expect(distanceM({ lat: 0, lon: 10 }, { lat: 0, lon: 11 })).toBeCloseTo(111_195, -1)
    expect(distanceM({ lat: 60, lon: 10 }, { lat: 60, lon: 11 }) / 111_195).toBeCloseTo(0.5, 2)
  })

  it('measures London to Paris as about 343.5 km, symmetrically, and a point to itself as 0', () => {
    const london = { lat: 51.5074, lon: -0.1278 }
    const paris = { lat: 48.8566, lon: 2.3522 }
    expect(distanceM(london, paris) / 1000).toBeCloseTo(343.5, 0)
    expect(distanceM(paris, london)).toBe(distanceM(london, paris))
    expect(distanceM(paris, paris)).toBe(0)
  })

  it('agrees with the test offsets at fence scale', () => {
    expect(distanceM(DEPOT, at(0, 150))).toBeCloseTo(150, 3)
    expect(distanceM(DEPOT, at(300, 400))).toBeCloseTo(500, 1)
  })

  it('tells inside from outside in a concave polygon, closed or not', () => {
    const ring = yard.shape.type === 'polygon' ? yard.shape.ring : []
    const open: Ring = ring.slice(0, -1)
    for (const r of [ring, open]) {
      expect(pointInRing(at(100, 1100), r)).toBe(true) // the corner of the L
      expect(pointInRing(at(300, 1100), r)).toBe(true) // the upright
      expect(pointInRing(at(100, 1300), r)).toBe(true) // the foot
      expect(pointInRing(at(300, 1300), r)).toBe(false) // the notch
      expect(pointInRing(at(100, 900), r)).toBe(false)
      expect(pointInRing(at(-50, 1100), r)).toBe(false)
    }
    expect(pointInRing(DEPOT, [])).toBe(false)
  })

  it('measures the distance to the nearest edge, from inside, outside and the notch', () => {
    const ring = yard.shape.type === 'polygon' ? yard.shape.ring : []
    expect(distanceToRingM(at(100, 1100), ring)).toBeCloseTo(100, 1)
    expect(distanceToRingM(at(100, 950), ring)).toBeCloseTo(50, 1)
    expect(distanceToRingM(at(300, 1250), ring)).toBeCloseTo(50, 1) // in the notch: its left wall
    expect(distanceToRingM(at(260, 1350), ring)).toBeCloseTo(60, 1) // in the notch: its floor
    expect(distanceToRingM(at(-30, 1440), ring)).toBeCloseTo(50, 1) // beyond a corner: 30-40-50
    expect(distanceToRingM(at(420, 1200), ring)).toBeCloseTo(20, 1)
    expect(distanceToRingM(DEPOT, [])).toBe(Infinity)
  })
})

describe('compileFences', () => {
  it('rejects duplicate ids and polygons of fewer than 3 points', () => {
    expect(() => compileFences([depot, depot], CONFIG)).toThrow(/unique/)
    expect(() => compileFences([{ id: 'line', shape: { type: 'polygon', ring: [vertex(0, 0), vertex(0, 10)] } }], CONFIG)).toThrow(/3 points/)
  })

  it('refuses a config with a wider band than the fences were compiled for', () => {
    expect(() => nextOnFix(undefined, fix(0, 0), FENCES, { ...CONFIG, hysteresisM: 31 })).toThrow(/hysteresisM/)
    expect(nextOnFix(undefined, fix(0, 0), FENCES, { ...CONFIG, hysteresisM: 10 }).state).toBeDefined()
  })

  it('keeps a fence near the poles reachable from any longitude', () => {
    const pole = compileFences([{ id: 'pole', shape: { type: 'circle', lat: 89.9999, lon: 0, radiusM: 100 } }], CONFIG)
    const first = nextOnFix(undefined, { time: T0, lat: 89.9999, lon: 0 }, pole, CONFIG)
    expect(insideOf(first.state)).toEqual(['pole'])
    const far = nextOnFix(first.state, { time: T0 + 120 * SEC, lat: 89.99, lon: 179 }, pole, CONFIG)
    expect(far.state?.fences).toEqual([{ fenceId: 'pole', inside: true, pending: { inside: false, since: T0 + 120 * SEC } }])
  })
})

describe('nextOnFix timelines', () => {
  it('reports a drive into the depot circle and out again, dated to the first fix on each side', () => {
    const { state, emitted } = replay([
      fix(0, 2000), fix(30, 1000), fix(60, 400), fix(90, 190),
      fix(100, 140), fix(110, 80), fix(130, 20), fix(300, 0), // in at 100, confirmed at 300
      fix(600, 10), fix(610, 120), fix(620, 170), // still in: 170 m is in the band
      fix(630, 200), fix(660, 260), fix(700, 800) // out at 630, confirmed at 700
    ])
    expect(emitted).toEqual([enter('depot', 100), exit('depot', 630)])
    expect(state?.fences).toEqual([])
  })

  it('reports a drive into the concave yard and out again', () => {
    const { state, emitted } = replay([
      fix(0, 700, 100), fix(20, 900, 100), fix(40, 990, 100), // 10 m short of the west wall: the band
      fix(50, 1050, 100), fix(70, 1150, 150), fix(200, 1150, 300), // in at 50
      fix(260, 1220, 300), fix(270, 1300, 300), // the notch: 20 m (the band) and 100 m from the yard, out at 270
      fix(400, 1300, 500) // confirmed
    ])
    expect(emitted).toEqual([enter('yard', 50), exit('yard', 270)])
    expect(insideOf(state)).toEqual([])
  })

  it('dates a transition to the first fix that crossed, however late it is confirmed and whatever the band said between', () => {
    const { emitted } = replay([
      fix(0, 500), fix(17, 149), fix(29, 160), fix(41, 100), fix(95, 170), fix(1000, 0),
      fix(1017, 181), fix(1030, 175), fix(1500, 2000)
    ])
    expect(emitted).toEqual([enter('depot', 17), exit('depot', 1017)])
  })

  it('does not flap on jitter across the edge within the hysteresis band', () => {
    const inside = replay([fix(0, 0)]).state
    const jitter = Array.from({ length: 60 }, (_, i) => fix(10 + i * 10, i % 2 === 0 ? 140 : 175))
    const { state, emitted } = replay(jitter, FENCES, inside)
    expect(emitted).toEqual([])
    expect(state?.fences).toEqual([{ fenceId: 'depot', inside: true, pending: null }])
  })

  it('does not enter on jitter between the band and beyond it', () => {
    const jitter = Array.from({ length: 60 }, (_, i) => fix(i * 10, i % 2 === 0 ? 160 : 250))
    const { state, emitted } = replay(jitter)
    expect(emitted).toEqual([])
    expect(state?.fences).toEqual([])
  })

  it('leaves a pending change pending through fixes in the band', () => {
    const { state, emitted } = replay([fix(0, 0), fix(100, 250), fix(130, 170), fix(150, 165)])
    expect(emitted).toEqual([])
    expect(state?.fences).toEqual([{ fenceId: 'depot', inside: true, pending: { inside: false, since: T0 + 100 * SEC } }])
    expect(replay([fix(161, 300)], FENCES, state).emitted).toEqual([exit('depot', 100)])
  })

  it('ignores an excursion shorter than the dwell, and the next one starts its own clock', () => {
    const { emitted } = replay([
      fix(0, 0), fix(100, 300), fix(130, 400), fix(150, 100), // out for 50 s: cancelled
      fix(200, 300), fix(259, 300), fix(262, 0), // out for 62 s, but the fix at 259 was under the dwell
      fix(300, 300), fix(360, 300) // out for 60 s: exit
    ])
    expect(emitted).toEqual([exit('depot', 300)])
  })

  it('ignores a single GPS spike far away, however long until the next fix', () => {
    const { state, emitted } = replay([fix(0, 0), fix(10, 5000, 5000), fix(3600, 0), fix(3700, 5000), fix(3701, 10)])
    expect(emitted).toEqual([])
    expect(state?.fences).toEqual([{ fenceId: 'depot', inside: true, pending: null }])
  })

  it('ignores a single spike into the depot while driving past', () => {
    const { emitted } = replay([fix(0, 400), fix(10, 300), fix(20, 0), fix(30, 300), fix(200, 400), fix(300, 300)])
    expect(emitted).toEqual([])
  })

  it('ignores a late fix that would have entered, and ends like the in-order replay', () => {
    const spike = fix(60, 100) // a spike into the depot, cancelled in order by the fix at 90
    const head = [fix(0, 300), fix(30, 250)]
    const tail = [fix(300, 100), fix(330, 60), fix(400, 0)]
    const inOrder = replay([...head, spike, fix(90, 250), ...tail])
    const before = replay([...head, fix(90, 250)]).state
    const late = nextOnFix(before, spike, FENCES, CONFIG)
    expect(late.state).toBe(before)
    expect(late.transitions).toEqual([])
    const delivered = replay(tail, FENCES, late.state)
    expect(inOrder.emitted).toEqual([enter('depot', 300)]) // had the spike been taken late, 60
    expect(delivered.emitted).toEqual(inOrder.emitted)
    expect(delivered.state).toEqual(inOrder.state)
  })

  it('ignores a late fix that would have confirmed an exit, and ends like the in-order replay', () => {
    const confirming = fix(170, 250)
    const head = [fix(0, 0), fix(100, 250)] // out at 100
    const tail = [fix(240, 250), fix(300, 500)]
    const inOrder = replay([...head, confirming, fix(180, 170), ...tail])
    const before = replay([...head, fix(180, 170)]).state
    expect(nextOnFix(before, confirming, FENCES, CONFIG)).toEqual({ state: before, transitions: [] })
    const delivered = replay(tail, FENCES, before)
    expect(inOrder.emitted).toEqual([exit('depot', 100)])
    expect(delivered.emitted).toEqual(inOrder.emitted)
    expect(delivered.state).toEqual(inOrder.state)
  })

  it('ignores a fix with the same time as the last one', () => {
    const start = replay([fix(0, 0), fix(100, 300)]).state
    expect(nextOnFix(start, fix(100, 0), FENCES, CONFIG).state).toBe(start)
  })

  it('documents its one gap: a fix older than a far fix, arriving after it, is still used', () => {
    const start = replay([fix(0, 5000), fix(100, 6000)]).state
    expect(start?.lastTime).toBe(T0) // the far fix at 100 did not move it
    expect(nextOnFix(start, fix(50, 0), FENCES, CONFIG).state?.fences).toEqual([{ fenceId: 'depot', inside: false, pending: { inside: true, since: T0 + 50 * SEC } }])
  })

  it('ignores fixes less accurate than maxAccuracyM, without advancing the clock', () => {
    const start = replay([fix(0, 0)]).state
    const bad = replay([fix(100, 900, 0, 51), fix(200, 900, 0, 500), fix(300, 900, 0, 51)], FENCES, start)
    expect(bad.state).toBe(start)
    expect(bad.emitted).toEqual([])
    // a later good fix dated before the bad ones is still used: they moved nothing
    const { emitted } = replay([fix(50, 900, 0, 50), fix(110, 900)], FENCES, bad.state)
    expect(emitted).toEqual([exit('depot', 50)])
  })

  it('waits for an accurate fix before setting a new vehicle\'s membership', () => {
    const first = nextOnFix(undefined, fix(0, 0, 0, 80), FENCES, CONFIG)
    expect(first).toEqual({ state: undefined, transitions: [] })
    const { state, emitted } = replay([fix(10, 0)], FENCES, first.state)
    expect(emitted).toEqual([])
    expect(insideOf(state)).toEqual(['depot'])
  })

  it('ignores fixes with coordinates that are not numbers', () => {
    const start = replay([fix(0, 0)]).state
    expect(nextOnFix(start, { time: T0 + SEC, lat: Number.NaN, lon: 100 }, FENCES, CONFIG).state).toBe(start)
  })

  it('sets membership silently on the first fix: a van first seen parked in the depot has not arrived', () => {
    const first = nextOnFix(undefined, fix(0, 20), FENCES, CONFIG)
    expect(first.transitions).toEqual([])
    expect(first.state).toEqual({ lastTime: T0, fences: [{ fenceId: 'depot', inside: true, pending: null }] })
    expect(replay([fix(60, 10), fix(120, 500), fix(200, 600)], FENCES, first.state).emitted).toEqual([exit('depot', 120)])
  })

  it('counts a first fix in the band as outside, so driving on in enters', () => {
    const { emitted } = replay([fix(0, 170), fix(10, 100), fix(80, 50)])
    expect(emitted).toEqual([enter('depot', 10)])
  })

  it('forgets a removed fence the vehicle was inside of, without an exit', () => {
    const start = replay([fix(0, 0)]).state
    const yardOnly = compileFences([yard], CONFIG)
    const { state, emitted } = replay([fix(20, 0), fix(30, 500), fix(200, 500)], yardOnly, start)
    expect(emitted).toEqual([])
    expect(state?.fences).toEqual([])
  })

  it('forgets changes pending on removed fences, however long they have been pending', () => {
    const start = replay([fix(0, 0), fix(10, 1100, 100)]).state // left the depot for the yard
    const tracked = start?.fences.map((m) => [m.fenceId, m.inside, m.pending?.inside])
    expect(tracked).toEqual([['depot', true, false], ['yard', false, true]])
    const none = compileFences([], CONFIG)
    const { state, emitted } = replay([fix(200, 1100, 100), fix(300, 1100, 100)], none, start)
    expect(emitted).toEqual([])
    expect(state?.fences).toEqual([])
  })

  it('keeps membership of the fences that remain, and treats a renamed fence as new', () => {
    const start = replay([fix(0, 0)]).state
    expect(replay([fix(20, 0), fix(30, 500), fix(100, 500)], compileFences([depot], CONFIG), start).emitted).toEqual([exit('depot', 30)])
    const renamed = compileFences([{ ...depot, id: 'depot-2' }, yard], CONFIG)
    const { state, emitted } = replay([fix(20, 0), fix(100, 0)], renamed, start)
    expect(emitted).toEqual([enter('depot-2', 20)])
    expect(insideOf(state)).toEqual(['depot-2'])
  })

  it('tracks two overlapping fences independently', () => {
    const gate: Geofence = { id: 'gate', shape: { type: 'circle', ...at(0, 200), radiusM: 100 } }
    const fences = compileFences([depot, gate], CONFIG)
    const { emitted } = replay([
      fix(0, 600), fix(10, 250), fix(80, 250), // into the gate only
      fix(100, 120), fix(170, 120), // into both: the depot enters, the gate stands
      fix(200, 0), fix(210, -100), fix(300, -100), // out of the gate at 200, still in the depot
      fix(400, 600), fix(500, 600) // out of the depot
    ], fences)
    expect(emitted).toEqual([enter('gate', 10), enter('depot', 100), exit('gate', 200), exit('depot', 400)])
    // into both with one fix: both are dated to it, reported in fence order
    const both = replay([fix(0, 600), fix(10, 400), fix(20, 120), fix(90, 120)], fences).emitted
    expect(both).toEqual([enter('depot', 20), enter('gate', 20)])
  })

  it('returns the very same state, and no new array, for a vehicle far from every fence', () => {
    const start = replay([fix(0, 5000)]).state
    const a = nextOnFix(start, fix(10, 5100), FENCES, CONFIG)
    const b = nextOnFix(a.state, fix(20, 5200, 300), FENCES, CONFIG)
    expect(a.state).toBe(start)
    expect(b.state).toBe(start)
    expect(b.transitions).toBe(a.transitions)
    expect(b.transitions).toHaveLength(0)
  })

  it('only re-dates the state, sharing its fences, when a fix near a fence changes nothing', () => {
    const start = replay([fix(0, 0)]).state
    const step = nextOnFix(start, fix(10, 50), FENCES, CONFIG)
    expect(step.state).not.toBe(start)
    expect(step.state?.fences).toBe(start?.fences)
    expect(step.state?.lastTime).toBe(T0 + 10 * SEC)
    expect(step.transitions).toHaveLength(0)
  })

  it('does not mutate the state it is given', () => {
    const start = replay([fix(0, 0), fix(10, 300)]).state
    if (start === undefined) throw new Error('no state')
    for (const m of start.fences) Object.freeze(m.pending)
    start.fences.forEach((m) => Object.freeze(m))
    Object.freeze(start.fences)
    Object.freeze(start)
    const snapshot = structuredClone(start)
    for (const f of [fix(20, 0), fix(100, 300), fix(20, 1100, 100)]) nextOnFix(start, f, FENCES, CONFIG)
    expect(start).toEqual(snapshot)
  })
})

describe('nextOnFix random walks near a fence edge', () => {
  const config: GeofenceConfig = { hysteresisM: 25, minDwellMs: 30 * SEC, maxAccuracyM: 40 }
  const fences = compileFences([depot, yard], config)

  /** A vehicle wandering around `centre` with GPS noise, spikes, bad fixes and swapped deliveries. */
  function walk (seed: number, centre: { north: number, east: number }): GeofenceFix[] {
    const rand = random(seed)
    const fixes: GeofenceFix[] = []
    let north = centre.north + (rand() - 0.5) * 300
    let east = centre.east + (rand() - 0.5) * 300
    let time = 0
    for (let i = 0; i < 400; i++) {
      time += 1 + Math.floor(rand() * 15)
      north += (rand() - 0.5) * 40 + (centre.north - north) * 0.02
      east += (rand() - 0.5) * 40 + (centre.east - east) * 0.02
      const spike = rand() < 0.02 ? 3000 * (rand() - 0.5) : 0
      const noise = () => (rand() - 0.5) * 30
      const accuracy = rand() < 0.03 ? 200 : rand() < 0.5 ? undefined : rand() * 40
      fixes.push(fix(time, east + noise() + spike, north + noise(), accuracy))
    }
    for (let i = 0; i + 1 < fixes.length; i++) {
      const a = fixes[i]
      const b = fixes[i + 1]
      if (a !== undefined && b !== undefined && rand() < 0.05) {
        fixes[i] = b
        fixes[i + 1] = a
      }
    }
    return fixes
  }

  const centres = { depot: { north: 0, east: 150 }, yard: { north: 300, east: 1200 } }
  for (const [fenceId, centre] of Object.entries(centres)) {
    it(`alternates enters and exits of the ${fenceId}, each dated to a fix on its side and a dwell apart`, () => {
      let transitions = 0
      for (let seed = 1; seed <= 150; seed++) {
        const fixes = walk(seed * 7919, centre)
        let state: VehicleFenceState | undefined
        let inside: boolean | undefined
        let last: FenceTransition | undefined
        for (const f of fixes) {
          const step = nextOnFix(state, f, fences, config)
          if (state === undefined && step.state !== undefined) inside = insideOf(step.state).includes(fenceId)
          state = step.state
          for (const t of step.transitions.filter((t) => t.fenceId === fenceId)) {
            transitions++
            expect(t.kind, `seed ${seed}`).toBe(inside === true ? 'exit' : 'enter')
            if (last !== undefined) expect(t.time - last.time, `seed ${seed}`).toBeGreaterThanOrEqual(config.minDwellMs)
            const crossing = fixes.find((g) => g.time === t.time)
            expect(crossing, `seed ${seed}`).toBeDefined()
            if (crossing !== undefined) expect(side(fenceId, crossing), `seed ${seed}`).toBe(t.kind === 'enter' ? 'inside' : 'outside')
            inside = t.kind === 'enter'
            last = t
          }
        }
        expect(insideOf(state).includes(fenceId), `seed ${seed}`).toBe(inside)
      }
      expect(transitions).toBeGreaterThan(150) // the walks do cross the edge
    })
  }

  function side (fenceId: string, f: GeofenceFix): 'inside' | 'band' | 'outside' {
    const fence = fenceId === 'depot' ? depot : yard
    if (fence.shape.type === 'circle') {
      const d = distanceM(f, fence.shape)
      return d <= fence.shape.radiusM ? 'inside' : d > fence.shape.radiusM + config.hysteresisM ? 'outside' : 'band'
    }
    if (pointInRing(f, fence.shape.ring)) return 'inside'
    return distanceToRingM(f, fence.shape.ring) > config.hysteresisM ? 'outside' : 'band'
  }
})
