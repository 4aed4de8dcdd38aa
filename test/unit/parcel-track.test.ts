import { describe, expect, it } from 'vitest'
import type { MilestoneCode } from '../../server/tracking/milestones.js'
import {
  latestMilestone,
  nextOnRecorded,
  nextOnScan,
  PackedTrack,
  RECENT_LIMIT,
  type ParcelTrack,
  type ScanObserved,
  type TrackedMilestone
} from '../../server/tracking/parcel-track.js'

const T0 = Date.UTC(2026, 10, 23, 3, 0, 0)
const MIN = 60_000
const EMPTY: ParcelTrack = { recent: [] }

function scan (minutes: number, stationId: string, milestone: MilestoneCode = 'arrived_at_facility'): ScanObserved {
  return { time: T0 + minutes * MIN, stationId, milestone }
}

/** Folds a timeline of scans over the track, collecting every milestone the rules emitted. */
function replay (scans: ScanObserved[], start: ParcelTrack = EMPTY): { track: ParcelTrack, emitted: TrackedMilestone[] } {
  let track = start
  const emitted: TrackedMilestone[] = []
  for (const s of scans) {
    const step = nextOnScan(track, s)
    track = step.track
    emitted.push(...step.milestones)
  }
  return { track, emitted }
}

function milestone (minutes: number, stationId: string | null, code: MilestoneCode): TrackedMilestone {
  return { code, time: T0 + minutes * MIN, stationId }
}

function permutations<T> (items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]]
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]))
}

function deepFreeze (track: ParcelTrack): ParcelTrack {
  for (const m of track.recent) Object.freeze(m)
  Object.freeze(track.recent)
  return Object.freeze(track)
}

describe('nextOnScan timelines', () => {
  it('records no milestone for a parcel read at a station after it was delivered: the journey does not restart', () => {
    const delivered = nextOnRecorded(replay([scan(0, 'BKK'), scan(60, 'BKK', 'departed_facility')]).track, milestone(120, null, 'delivered')).track
    const wrongStation = nextOnScan(delivered, scan(180, 'HKT'))
    expect(wrongStation.milestones).toEqual([])
    expect(wrongStation.track).toBe(delivered)
    expect(latestMilestone(wrongStation.track)?.code).toBe('delivered')
    // a late read from before the delivery still lands in its place
    expect(nextOnScan(delivered, scan(30, 'BKK', 'sorted')).milestones).toEqual([milestone(30, 'BKK', 'sorted')])
  })

  it('records a parcel read at a station it was not expected at, in time order, without moving it past later steps', () => {
    // misrouted to HKT and sent on: the timeline shows the detour where it happened
    const { track } = replay([scan(0, 'BKK'), scan(60, 'HKT'), scan(180, 'CNX')])
    const late = nextOnScan(track, scan(90, 'HKT', 'departed_facility'))
    expect(late.track.recent.map((m) => `${m.stationId}:${m.code}`)).toEqual([
      'BKK:arrived_at_facility', 'HKT:arrived_at_facility', 'HKT:departed_facility', 'CNX:arrived_at_facility'
    ])
    expect(latestMilestone(late.track)?.stationId).toBe('CNX')
  })

  it('turns many reads of the same tag at the same station into exactly one milestone', () => {
    const { track, emitted } = replay([scan(0, 'BKK'), scan(0.1, 'BKK'), scan(0.2, 'BKK'), scan(1, 'BKK'), scan(5, 'BKK')])
    expect(emitted).toEqual([milestone(0, 'BKK', 'arrived_at_facility')])
    expect(track.recent).toEqual([milestone(0, 'BKK', 'arrived_at_facility')])
  })

  it('records a new milestone for a read at a different station', () => {
    const { track, emitted } = replay([scan(0, 'BKK'), scan(1, 'BKK'), scan(60, 'CNX'), scan(61, 'CNX')])
    expect(emitted).toEqual([milestone(0, 'BKK', 'arrived_at_facility'), milestone(60, 'CNX', 'arrived_at_facility')])
    expect(track.recent).toEqual(emitted)
  })

  it('records a different milestone at the same station', () => {
    const { emitted } = replay([scan(0, 'BKK', 'arrived_at_facility'), scan(10, 'BKK', 'sorted')])
    expect(emitted).toEqual([milestone(0, 'BKK', 'arrived_at_facility'), milestone(10, 'BKK', 'sorted')])
  })

  it('records a return visit: arrive at A, depart A, arrive at A again gives three milestones', () => {
    const { track, emitted } = replay([
      scan(0, 'A', 'arrived_at_facility'),
      scan(1, 'A', 'arrived_at_facility'),
      scan(30, 'A', 'departed_facility'),
      scan(31, 'A', 'departed_facility'),
      scan(300, 'A', 'arrived_at_facility'),
      scan(301, 'A', 'arrived_at_facility')
    ])
    const expected = [milestone(0, 'A', 'arrived_at_facility'), milestone(30, 'A', 'departed_facility'), milestone(300, 'A', 'arrived_at_facility')]
    expect(emitted).toEqual(expected)
    expect(track.recent).toEqual(expected)
  })

  it('inserts a late scan in time order and keeps the newest milestone by time as the latest', () => {
    const { track, emitted } = replay([scan(0, 'A'), scan(120, 'C'), scan(60, 'B')])
    expect(emitted).toEqual([milestone(0, 'A', 'arrived_at_facility'), milestone(120, 'C', 'arrived_at_facility'), milestone(60, 'B', 'arrived_at_facility')])
    expect(track.recent).toEqual([milestone(0, 'A', 'arrived_at_facility'), milestone(60, 'B', 'arrived_at_facility'), milestone(120, 'C', 'arrived_at_facility')])
    expect(latestMilestone(track)).toEqual(milestone(120, 'C', 'arrived_at_facility'))
  })

  it('inserts a scan older than everything at the front', () => {
    const { track } = replay([scan(60, 'B'), scan(120, 'C'), scan(0, 'A')])
    expect(track.recent.map((m) => m.stationId)).toEqual(['A', 'B', 'C'])
    expect(latestMilestone(track)?.stationId).toBe('C')
  })

  it('drops a late duplicate that lands right after the same step in time order', () => {
    const start = replay([scan(0, 'A'), scan(120, 'B')]).track
    const step = nextOnScan(start, scan(5, 'A'))
    expect(step.milestones).toEqual([])
    expect(step.track).toBe(start)
  })

  it('drops a late duplicate that lands right before the same step in time order', () => {
    const start = replay([scan(0, 'A'), scan(120, 'B')]).track
    const step = nextOnScan(start, scan(100, 'B'))
    expect(step.milestones).toEqual([])
    expect(step.track).toBe(start)
  })

  it('drops a duplicate with exactly the same time as the existing step', () => {
    const start = replay([scan(0, 'A'), scan(120, 'B')]).track
    expect(nextOnScan(start, scan(120, 'B')).milestones).toEqual([])
    expect(nextOnScan(start, scan(0, 'A')).milestones).toEqual([])
  })

  it('keeps a late read of a step that is not adjacent: a return visit reported late', () => {
    // A arrive, A depart, then a late A arrival after the departure: a real second visit
    const start = replay([scan(0, 'A', 'arrived_at_facility'), scan(30, 'A', 'departed_facility'), scan(200, 'B')]).track
    const step = nextOnScan(start, scan(100, 'A', 'arrived_at_facility'))
    expect(step.milestones).toEqual([milestone(100, 'A', 'arrived_at_facility')])
    expect(step.track.recent.map((m) => [m.code, m.stationId, (m.time - T0) / MIN])).toEqual([
      ['arrived_at_facility', 'A', 0],
      ['departed_facility', 'A', 30],
      ['arrived_at_facility', 'A', 100],
      ['arrived_at_facility', 'B', 200]
    ])
  })

  it('yields the same final track whatever order the events of a timeline arrive in', () => {
    const timeline = [
      scan(0, 'A', 'arrived_at_facility'),
      scan(20, 'B', 'sorted'),
      scan(45, 'C', 'loaded'),
      scan(90, 'D', 'departed_facility')
    ]
    const expected = replay(timeline).track.recent
    expect(expected).toEqual([
      milestone(0, 'A', 'arrived_at_facility'),
      milestone(20, 'B', 'sorted'),
      milestone(45, 'C', 'loaded'),
      milestone(90, 'D', 'departed_facility')
    ])
    const orders = permutations(timeline)
    expect(orders).toHaveLength(24)
    for (const order of orders) {
      const { track, emitted } = replay(order)
      expect(track.recent).toEqual(expected)
      expect(emitted).toHaveLength(4)
      expect(latestMilestone(track)).toEqual(milestone(90, 'D', 'departed_facility'))
    }
  })

  it('does not mutate the track it is given', () => {
    const start = deepFreeze(replay([scan(0, 'A'), scan(120, 'C')]).track)
    const snapshot = structuredClone(start.recent)
    const inserted = nextOnScan(start, scan(60, 'B'))
    const dropped = nextOnScan(start, scan(1, 'A'))
    expect(start.recent).toEqual(snapshot)
    expect(inserted.track).not.toBe(start)
    expect(inserted.track.recent).toHaveLength(3)
    expect(dropped.track.recent).toEqual(snapshot)
  })

  it(`keeps at most RECENT_LIMIT (${RECENT_LIMIT}) milestones, the newest ones`, () => {
    const scans = Array.from({ length: RECENT_LIMIT + 5 }, (_, i) => scan(i, `S${i}`))
    const { track, emitted } = replay(scans)
    expect(emitted).toHaveLength(RECENT_LIMIT + 5)
    expect(track.recent).toHaveLength(RECENT_LIMIT)
    expect(track.recent[0]).toEqual(milestone(5, 'S5', 'arrived_at_facility'))
    expect(latestMilestone(track)).toEqual(milestone(RECENT_LIMIT + 4, `S${RECENT_LIMIT + 4}`, 'arrived_at_facility'))
  })

  it('keeps the newest RECENT_LIMIT milestones even when the milestones arrive newest first', () => {
    const scans = Array.from({ length: RECENT_LIMIT + 5 }, (_, i) => scan(i, `S${i}`)).reverse()
    const { track } = replay(scans)
    expect(track.recent.map((m) => m.stationId)).toEqual(Array.from({ length: RECENT_LIMIT }, (_, i) => `S${i + 5}`))
  })
})

describe('nextOnRecorded', () => {
  it('always records a stated milestone, even one repeating the previous step', () => {
    const start = replay([scan(0, 'A')]).track
    const repeated = milestone(5, 'A', 'arrived_at_facility')
    const step = nextOnRecorded(start, repeated)
    expect(step.milestones).toEqual([repeated])
    expect(step.track.recent).toEqual([milestone(0, 'A', 'arrived_at_facility'), repeated])
  })

  it('places a stated milestone in time order, equal times after the existing one', () => {
    let track: ParcelTrack = EMPTY
    for (const m of [milestone(10, null, 'picked_up'), milestone(0, null, 'info_received'), milestone(10, null, 'out_for_delivery')]) {
      track = nextOnRecorded(track, m).track
    }
    expect(track.recent.map((m) => m.code)).toEqual(['info_received', 'picked_up', 'out_for_delivery'])
    expect(latestMilestone(track)?.code).toBe('out_for_delivery')
  })

  it('does not mutate the track it is given', () => {
    const start = deepFreeze(replay([scan(0, 'A')]).track)
    const step = nextOnRecorded(start, milestone(-5, null, 'picked_up'))
    expect(start.recent).toEqual([milestone(0, 'A', 'arrived_at_facility')])
    expect(step.track.recent).toEqual([milestone(-5, null, 'picked_up'), milestone(0, 'A', 'arrived_at_facility')])
  })
})

describe('latestMilestone', () => {
  it('is undefined for a parcel with no milestones', () => {
    expect(latestMilestone(EMPTY)).toBeUndefined()
  })
})

describe('PackedTrack: a track as start-up reads it', () => {
  const rows: Array<[MilestoneCode, number, string | null]> = [['arrived_at_facility', 3000, 'ST-2'], ['departed_facility', 2000, 'ST-1'], ['info_received', 1000, null]]

  it('reads oldest first, with the strings it was given interned, and a fresh array each time', () => {
    const pool = new Map<string, string>()
    const intern = <S extends string | null>(value: S): S => {
      if (value === null) return value
      if (!pool.has(value)) pool.set(value, value)
      return pool.get(value) as S
    }
    const track = new PackedTrack(rows, intern)
    expect(track.recent).toEqual([
      { code: 'info_received', time: 1000, stationId: null },
      { code: 'departed_facility', time: 2000, stationId: 'ST-1' },
      { code: 'arrived_at_facility', time: 3000, stationId: 'ST-2' }
    ])
    expect(track.recent).not.toBe(track.recent)
    expect([...pool.keys()].sort()).toEqual(['ST-1', 'ST-2', 'arrived_at_facility', 'departed_facility', 'info_received'])
    expect(latestMilestone(track)).toEqual({ code: 'arrived_at_facility', time: 3000, stationId: 'ST-2' })
  })

  it('follows the same rules as a plain track, and a new milestone gives a plain one', () => {
    const packed = new PackedTrack(rows, (value) => value)
    const plain: ParcelTrack = { recent: packed.recent }
    const scan: ScanObserved = { time: 2500, stationId: 'ST-1', milestone: 'departed_facility' }
    expect(nextOnScan(packed, scan).milestones).toEqual(nextOnScan(plain, scan).milestones)
    const next = nextOnRecorded(packed, { code: 'out_for_delivery', time: 4000, stationId: null })
    expect(next.track).not.toBeInstanceOf(PackedTrack)
    expect(next.track.recent.map((m) => m.code)).toEqual(['info_received', 'departed_facility', 'arrived_at_facility', 'out_for_delivery'])
    expect(new PackedTrack([], (value) => value).recent).toEqual([])
  })
})
