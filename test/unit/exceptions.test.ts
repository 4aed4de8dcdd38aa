import { describe, expect, it } from 'vitest'
import { exceptionsOf, lastProgress, type ExceptionRules } from '../../server/tracking/exceptions.js'
import { emptyLaneStats, recordDuration } from '../../server/tracking/lane-stats.js'
import type { MilestoneCode } from '../../server/tracking/milestones.js'
import type { TrackedMilestone } from '../../server/tracking/parcel-track.js'

const T0 = Date.UTC(2026, 10, 23, 3, 0, 0)
const HOUR = 3_600_000
const MIN = 60_000
const RULES: ExceptionRules = { stallSlaMs: 24 * HOUR, minSamples: 20, stallFactor: 1.5, lostFactor: 4, customsSlaMs: 48 * HOUR }
const m = (hours: number, code: MilestoneCode): TrackedMilestone => ({ code, time: T0 + hours * HOUR, stationId: null })
const kinds = (recent: TrackedMilestone[], hours: number, stats = emptyLaneStats()) =>
  exceptionsOf(recent, 'CN>TH', T0 + hours * HOUR, stats, RULES).map((e) => [e.kind, (e.since - T0) / HOUR, e.detail.basis])

describe('exceptions as a parcel\'s timeline ages', () => {
  const journey = [m(0, 'info_received'), m(2, 'arrived_at_facility')]

  it('raises nothing while the step is within its SLA, then stalled, then suspected lost, dated to when each began to hold', () => {
    expect(kinds(journey, 25)).toEqual([])
    expect(kinds(journey, 27)).toEqual([['stalled', 26, 'sla']])
    expect(kinds(journey, 99)).toEqual([['stalled', 26, 'sla'], ['suspected_lost', 98, 'sla']])
  })

  it('measures from the last real progress: the milestones it raised itself do not reset the clock', () => {
    const raised = [...journey, m(26, 'stalled')]
    expect(lastProgress(raised)?.code).toBe('arrived_at_facility')
    expect(kinds(raised, 27)).toEqual([['stalled', 26, 'sla']])
    // a new scan is progress: the stall no longer holds
    expect(kinds([...raised, m(28, 'departed_facility')], 29)).toEqual([])
  })

  it('raises nothing once the journey has ended', () => {
    expect(kinds([...journey, m(3, 'delivered')], 500)).toEqual([])
    expect(kinds([...journey, m(3, 'returned_to_sender')], 500)).toEqual([])
  })

  it('raises a customs dwell past the customs SLA, beside the stall', () => {
    const inCustoms = [...journey, m(3, 'customs_entered')]
    expect(kinds(inCustoms, 28)).toEqual([['stalled', 27, 'sla']])
    expect(kinds(inCustoms, 52)).toEqual([['customs_dwell', 51, 'sla'], ['stalled', 27, 'sla']])
  })

  it('learns the lane: with 20 past durations of about 40 minutes, an hour and a half at the facility is a stall', () => {
    const stats = emptyLaneStats()
    for (let i = 0; i < 20; i++) recordDuration(stats, 'CN>TH', 'arrived_at_facility', (30 + i) * MIN)
    const [stall] = exceptionsOf(journey, 'CN>TH', T0 + 3.5 * HOUR, stats, RULES)
    expect(stall).toMatchObject({ kind: 'stalled', detail: { basis: 'history' } })
    // p95 of 30..49 minutes is 48.05; times 1.5
    expect(stall?.detail.thresholdMs).toBeCloseTo(48.05 * 1.5 * MIN, -3)
    // another lane still has only its SLA
    expect(exceptionsOf(journey, 'US>TH', T0 + 3.5 * HOUR, stats, RULES)).toEqual([])
  })
})
