import { stallThresholdMs, type LaneStats } from './lane-stats.js'
import { MILESTONES, type MilestoneCode } from './milestones.js'
import type { TrackedMilestone } from './parcel-track.js'

/**
 * Exceptions that raise and clear themselves. Pure: given what is known of a parcel and the time,
 * which exceptions hold now. The caller opens those that are new (recording their milestone) and
 * clears those that no longer hold.
 */
export type ParcelExceptionKind = 'stalled' | 'suspected_lost' | 'customs_dwell'

export interface ExceptionRules {
  /** How long a step may take before the parcel is stalled, while the lane has too little history. */
  stallSlaMs: number
  /** How many past durations of a step make its p95 trustworthy. */
  minSamples: number
  /** The p95 of past durations times this is the stall threshold. */
  stallFactor: number
  /** Stalled for this many thresholds: suspected lost. */
  lostFactor: number
  /** How long a parcel may sit in customs. */
  customsSlaMs: number
}

export interface RaisedException {
  kind: ParcelExceptionKind
  /** When it began to hold: the milestone recorded for it carries this time, so raising twice records once. */
  since: number
  milestone: MilestoneCode
  detail: { lane: string, after: MilestoneCode, thresholdMs: number, basis: 'history' | 'sla' }
}

/** Milestones the rules record themselves: they are not progress, and never reset the clock. */
export const RAISED_CODES: ReadonlySet<MilestoneCode> = new Set(['stalled', 'suspected_lost', 'customs_delayed'])
const IN_CUSTOMS: ReadonlySet<MilestoneCode> = new Set(['customs_entered', 'customs_held'])

/** The parcel's newest milestone that is real progress, not one the rules raised. */
export function lastProgress (recent: readonly TrackedMilestone[]): TrackedMilestone | undefined {
  for (let i = recent.length - 1; i >= 0; i--) {
    const milestone = recent[i]
    if (milestone !== undefined && !RAISED_CODES.has(milestone.code)) return milestone
  }
  return undefined
}

/** Every exception that holds for a parcel at `now`; none once its journey has ended. */
export function exceptionsOf (recent: readonly TrackedMilestone[], lane: string, now: number, stats: LaneStats, rules: ExceptionRules): RaisedException[] {
  const progress = lastProgress(recent)
  if (progress === undefined || MILESTONES[progress.code].final) return []
  const { thresholdMs, basis } = stallThresholdMs(stats, lane, progress.code, {
    minSamples: rules.minSamples, percentile: 0.95, factor: rules.stallFactor, slaMs: rules.stallSlaMs
  })
  const age = now - progress.time
  const detail = { lane, after: progress.code, thresholdMs, basis }
  const raised: RaisedException[] = []
  if (IN_CUSTOMS.has(progress.code) && age > rules.customsSlaMs) {
    raised.push({ kind: 'customs_dwell', since: progress.time + rules.customsSlaMs, milestone: 'customs_delayed', detail: { ...detail, thresholdMs: rules.customsSlaMs, basis: 'sla' } })
  }
  if (age > thresholdMs) raised.push({ kind: 'stalled', since: progress.time + thresholdMs, milestone: 'stalled', detail })
  if (age > thresholdMs * rules.lostFactor) {
    raised.push({ kind: 'suspected_lost', since: progress.time + thresholdMs * rules.lostFactor, milestone: 'suspected_lost', detail })
  }
  return raised
}

/**
 * When an exception that does not hold at `now` would start to hold, if nothing else happens to
 * the parcel: the earliest of its stall, its loss and its customs dwell still ahead. Undefined
 * once the journey has ended, or when every exception already holds. Pure: the sweep keeps
 * parcels in the order of this time and looks only at those that are due.
 */
export function nextExceptionAt (recent: readonly TrackedMilestone[], lane: string, now: number, stats: LaneStats, rules: ExceptionRules): number | undefined {
  const progress = lastProgress(recent)
  if (progress === undefined || MILESTONES[progress.code].final) return undefined
  const { thresholdMs } = stallThresholdMs(stats, lane, progress.code, {
    minSamples: rules.minSamples, percentile: 0.95, factor: rules.stallFactor, slaMs: rules.stallSlaMs
  })
  // each holds once the parcel's age is past its threshold: a millisecond after it
  const starts = [progress.time + thresholdMs + 1, progress.time + thresholdMs * rules.lostFactor + 1]
  if (IN_CUSTOMS.has(progress.code)) starts.push(progress.time + rules.customsSlaMs + 1)
  let next: number | undefined
  for (const start of starts) if (start > now && (next === undefined || start < next)) next = start
  return next
}
