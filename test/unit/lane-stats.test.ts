import { describe, expect, it } from 'vitest'
import {
  buildLaneStats,
  DEFAULT_CAPACITY,
  emptyLaneStats,
  expectedRemainingMs,
  percentile,
  recordDuration,
  recordTimeline,
  STALL_FLOOR_MS,
  stallThresholdMs,
  stepSamples,
  type LaneStats,
  type LaneTimeline,
  type StallThresholdOptions
} from '../../server/tracking/lane-stats.js'
import type { MilestoneCode } from '../../server/tracking/milestones.js'

const T0 = Date.UTC(2026, 10, 23, 3, 0, 0)
const MIN = 60_000
const HOUR = 60 * MIN
const LANE = 'CN-SHA→TH-BKK'
const OTHER_LANE = 'CN-SZX→VN-SGN'

const CUSTOMS: StallThresholdOptions = { minSamples: 20, percentile: 0.95, factor: 1.5, slaMs: 48 * HOUR }

/** One parcel's journey: [code, hours after it started] pairs, starting `startHours` after T0. */
function journey (lane: string, startHours: number, steps: Array<[MilestoneCode, number]>): LaneTimeline {
  return { lane, milestones: steps.map(([code, hours]) => ({ code, time: T0 + (startHours + hours) * HOUR })) }
}

/** A parcel on the lane that clears customs `customsHours` after entering it. */
function throughCustoms (startHours: number, customsHours: number): LaneTimeline {
  return journey(LANE, startHours, [
    ['arrived_in_destination_country', 0],
    ['customs_entered', 1],
    ['customs_cleared', 1 + customsHours],
    ['out_for_delivery', 1 + customsHours + 18],
    ['delivered', 1 + customsHours + 24]
  ])
}

describe('stallThresholdMs', () => {
  it('uses the SLA until minSamples parcels have gone through the step, then their history', () => {
    const stats = emptyLaneStats()
    for (let parcel = 0; parcel < 19; parcel++) recordTimeline(stats, throughCustoms(parcel, 6))
    expect(stallThresholdMs(stats, LANE, 'customs_entered', CUSTOMS)).toEqual({ thresholdMs: 48 * HOUR, basis: 'sla', samples: 19 })

    recordTimeline(stats, throughCustoms(19, 6))
    expect(stallThresholdMs(stats, LANE, 'customs_entered', CUSTOMS)).toEqual({ thresholdMs: 9 * HOUR, basis: 'history', samples: 20 })
  })

  it('uses the SLA for a lane or a step it has never seen', () => {
    const stats = emptyLaneStats()
    for (let parcel = 0; parcel < 30; parcel++) recordTimeline(stats, throughCustoms(parcel, 6))
    expect(stallThresholdMs(stats, OTHER_LANE, 'customs_entered', CUSTOMS)).toEqual({ thresholdMs: 48 * HOUR, basis: 'sla', samples: 0 })
    expect(stallThresholdMs(stats, LANE, 'handed_to_airline', CUSTOMS)).toEqual({ thresholdMs: 48 * HOUR, basis: 'sla', samples: 0 })
  })

  it('follows the slow tail of the history, not its average', () => {
    const stats = emptyLaneStats()
    // 90 parcels clear in 4 hours, 10 are held 30 hours: the p95 lands among the held ones
    for (let parcel = 0; parcel < 100; parcel++) recordTimeline(stats, throughCustoms(parcel, parcel % 10 === 9 ? 30 : 4))
    expect(stallThresholdMs(stats, LANE, 'customs_entered', CUSTOMS)).toEqual({ thresholdMs: 45 * HOUR, basis: 'history', samples: 100 })
  })

  it('is never below the floor, whether from history or from the SLA', () => {
    const stats = emptyLaneStats()
    for (let i = 0; i < 50; i++) recordDuration(stats, LANE, 'sorted', 2 * MIN)
    const sorted = { minSamples: 20, percentile: 0.95, factor: 2, slaMs: 1 * MIN }
    expect(stallThresholdMs(stats, LANE, 'sorted', sorted)).toEqual({ thresholdMs: STALL_FLOOR_MS, basis: 'history', samples: 50 })
    expect(stallThresholdMs(stats, LANE, 'loaded', sorted)).toEqual({ thresholdMs: STALL_FLOOR_MS, basis: 'sla', samples: 0 })
    expect(stallThresholdMs(stats, LANE, 'sorted', { ...sorted, floorMs: 30 * MIN }).thresholdMs).toBe(30 * MIN)
  })

  it('is the p95 of a known distribution times the factor', () => {
    const stats = emptyLaneStats()
    for (let minutes = 1; minutes <= 100; minutes++) recordDuration(stats, LANE, 'departed_facility', minutes * MIN)
    // p95 of 1…100 minutes is 95.05 minutes; times 2
    expect(stallThresholdMs(stats, LANE, 'departed_facility', { minSamples: 20, percentile: 0.95, factor: 2, slaMs: 0 }))
      .toEqual({ thresholdMs: 11_406_000, basis: 'history', samples: 100 })
  })
})

describe('percentile', () => {
  it('interpolates between the closest ranks', () => {
    const oneToHundred = Array.from({ length: 100 }, (_, i) => i + 1)
    expect(percentile(oneToHundred, 0.95)).toBeCloseTo(95.05, 10)
    expect(percentile(oneToHundred, 0.5)).toBe(50.5)
    expect(percentile(oneToHundred, 0)).toBe(1)
    expect(percentile(oneToHundred, 1)).toBe(100)
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2.5)
    expect(percentile([7], 0.95)).toBe(7)
  })

  it('does not depend on the order of the samples, and does not reorder them', () => {
    // 0…1000 in a scrambled order: 37 is coprime with 1001, so i*37 mod 1001 visits each value once
    const scrambled = Array.from({ length: 1001 }, (_, i) => (i * 37) % 1001)
    const copy = [...scrambled]
    expect(percentile(scrambled, 0.95)).toBe(950)
    expect(percentile(scrambled, 0.99)).toBe(990)
    expect(scrambled).toEqual(copy)
  })

  it('is undefined without samples, and clamps p to [0, 1]', () => {
    expect(percentile([], 0.95)).toBeUndefined()
    expect(percentile([3, 1, 2], 1.5)).toBe(3)
    expect(percentile([3, 1, 2], -1)).toBe(1)
  })
})

describe('bounded memory', () => {
  it(`keeps only the newest ${DEFAULT_CAPACITY} durations of a step after 10,000`, () => {
    const stats = emptyLaneStats()
    for (let i = 0; i < 10_000; i++) recordDuration(stats, LANE, 'customs_entered', i)
    const kept = stepSamples(stats, LANE, 'customs_entered')
    expect(kept).toHaveLength(DEFAULT_CAPACITY)
    expect([...kept].sort((a, b) => a - b)).toEqual(Array.from({ length: DEFAULT_CAPACITY }, (_, i) => 10_000 - DEFAULT_CAPACITY + i))
    expect(stats.steps.get(LANE)?.get('customs_entered')?.seen).toBe(10_000)
    expect(stallThresholdMs(stats, LANE, 'customs_entered', { ...CUSTOMS, floorMs: 0 }).samples).toBe(DEFAULT_CAPACITY)
  })

  it('follows a lane that got slower: old durations age out of the threshold', () => {
    const stats = emptyLaneStats({ capacity: 200 })
    for (let i = 0; i < 10_000; i++) recordDuration(stats, LANE, 'customs_entered', 4 * HOUR)
    expect(stallThresholdMs(stats, LANE, 'customs_entered', CUSTOMS).thresholdMs).toBe(6 * HOUR)
    for (let i = 0; i < 200; i++) recordDuration(stats, LANE, 'customs_entered', 10 * HOUR)
    expect(stallThresholdMs(stats, LANE, 'customs_entered', CUSTOMS).thresholdMs).toBe(15 * HOUR)
    expect(stepSamples(stats, LANE, 'customs_entered')).toHaveLength(200)
  })

  it('bounds the direct samples to delivery too', () => {
    const stats = emptyLaneStats({ capacity: 50 })
    for (let parcel = 0; parcel < 1000; parcel++) recordTimeline(stats, throughCustoms(parcel, 6))
    for (const byKey of [...stats.steps.values(), ...stats.remaining.values()]) {
      for (const sample of byKey.values()) {
        expect(sample.values.length).toBeLessThanOrEqual(50)
        expect(sample.sorted?.length ?? 0).toBeLessThanOrEqual(50)
      }
    }
  })

  it('drops negative and non-finite durations', () => {
    const stats = emptyLaneStats()
    recordDuration(stats, LANE, 'sorted', -5)
    recordDuration(stats, LANE, 'sorted', Number.NaN)
    recordDuration(stats, LANE, 'sorted', Number.POSITIVE_INFINITY)
    recordDuration(stats, LANE, 'sorted', 0)
    expect(stepSamples(stats, LANE, 'sorted')).toEqual([0])
  })

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => emptyLaneStats({ capacity: 0 })).toThrow(RangeError)
    expect(() => emptyLaneStats({ capacity: 2.5 })).toThrow(RangeError)
  })
})

describe('building from timelines', () => {
  const timelines: LaneTimeline[] = [
    journey(LANE, 0, [['info_received', 0], ['picked_up', 5], ['departed_facility', 12], ['out_for_delivery', 60], ['delivered', 64], ['cod_collected', 64.5]]),
    // the same journey, read back from the database in no particular order
    journey(LANE, 100, [['out_for_delivery', 80], ['info_received', 0], ['delivered', 90], ['departed_facility', 20], ['picked_up', 3]]),
    // a failed attempt, then a second round: both rounds are samples of "out for delivery → delivered"
    journey(LANE, 200, [['info_received', 0], ['picked_up', 4], ['departed_facility', 16], ['out_for_delivery', 70], ['delivery_attempted', 75], ['out_for_delivery', 94], ['delivered', 98]]),
    // still on its way: it teaches steps but nothing about the time to delivery
    journey(LANE, 300, [['info_received', 0], ['picked_up', 6], ['departed_facility', 14]]),
    // the stall detector's own milestones are not steps: picked_up → departed_facility is 30 hours
    journey(LANE, 400, [['info_received', 0], ['picked_up', 2], ['stalled', 20], ['suspected_lost', 26], ['departed_facility', 32]]),
    journey(OTHER_LANE, 0, [['info_received', 0], ['picked_up', 1], ['out_for_delivery', 30], ['delivered', 31]])
  ]

  it('learns each step between consecutive observed milestones, in time order', () => {
    const stats = buildLaneStats(timelines)
    const hours = (code: MilestoneCode, lane = LANE): number[] => stepSamples(stats, lane, code).map((ms) => ms / HOUR)
    expect(hours('info_received')).toEqual([5, 3, 4, 6, 2])
    expect(hours('picked_up')).toEqual([7, 17, 12, 8, 30])
    expect(hours('departed_facility')).toEqual([48, 60, 54])
    expect(hours('out_for_delivery')).toEqual([4, 10, 5, 4])
    expect(hours('delivery_attempted')).toEqual([19])
    // nothing is learnt from a final milestone, nor towards or from a derived one
    expect(hours('delivered')).toEqual([])
    expect(hours('stalled')).toEqual([])
    expect(hours('picked_up', OTHER_LANE)).toEqual([29])
  })

  it('estimates the time to delivery from parcels that were delivered', () => {
    const stats = buildLaneStats(timelines)
    // info_received → delivered took 64, 90 and 98 hours
    expect(expectedRemainingMs(stats, LANE, 'info_received', 'delivered')).toBe(90 * HOUR)
    // out_for_delivery → delivered: 4, 10, 28 (first round of the failed attempt) and 4 hours
    expect(expectedRemainingMs(stats, LANE, 'out_for_delivery', 'delivered')).toBe(7 * HOUR)
    expect(expectedRemainingMs(stats, LANE, 'delivery_attempted', 'delivered')).toBe(23 * HOUR)
    expect(expectedRemainingMs(stats, OTHER_LANE, 'picked_up', 'delivered')).toBe(30 * HOUR)
    expect(expectedRemainingMs(stats, LANE, 'delivered', 'delivered')).toBe(0)
  })

  it('has no estimate without history, with too little of it, or towards a code it does not sample', () => {
    const stats = buildLaneStats(timelines)
    expect(expectedRemainingMs(stats, 'XX-AAA→YY-BBB', 'picked_up', 'delivered')).toBeUndefined()
    expect(expectedRemainingMs(stats, LANE, 'customs_entered', 'delivered')).toBeUndefined()
    expect(expectedRemainingMs(stats, LANE, 'info_received', 'delivered', { minSamples: 4 })).toBeUndefined()
    expect(expectedRemainingMs(stats, LANE, 'info_received', 'returned_to_sender')).toBeUndefined()
    const withReturns = buildLaneStats([journey(LANE, 0, [['out_for_delivery', 0], ['refused_by_buyer', 1], ['returned_to_sender', 100]])], { targets: ['delivered', 'returned_to_sender'] })
    expect(expectedRemainingMs(withReturns, LANE, 'refused_by_buyer', 'returned_to_sender')).toBe(99 * HOUR)
  })

  it('rebuilt after a restart, it matches the stats recorded live milestone by milestone', () => {
    const live = emptyLaneStats()
    for (const timeline of timelines) {
      const ordered = [...timeline.milestones].sort((a, b) => a.time - b.time).filter((m) => m.code !== 'stalled' && m.code !== 'suspected_lost')
      // live wiring: each new milestone closes the previous step; a delivery adds the direct samples
      for (let i = 1; i < ordered.length; i++) {
        const previous = ordered[i - 1]
        const current = ordered[i]
        if (previous === undefined || current === undefined || previous.code === 'delivered') continue
        recordDuration(live, timeline.lane, previous.code, current.time - previous.time)
      }
      recordTimeline(live, timeline, { steps: false })
    }
    expect(live).toEqual(buildLaneStats(timelines))
  })

  it('is the same whichever order the timelines come in', () => {
    const forward = buildLaneStats(timelines)
    const backward = buildLaneStats([...timelines].reverse())
    const thresholds = (stats: LaneStats): unknown[] => (['info_received', 'picked_up', 'departed_facility', 'out_for_delivery'] as const)
      .map((code) => [stallThresholdMs(stats, LANE, code, { ...CUSTOMS, minSamples: 3 }), expectedRemainingMs(stats, LANE, code, 'delivered')])
    expect(thresholds(backward)).toEqual(thresholds(forward))
  })
})
