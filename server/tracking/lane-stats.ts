import { MILESTONES, type MilestoneCode } from './milestones.js'

/**
 * How long each step of a journey normally takes, learnt per lane (an origin→destination key such
 * as `CN-SHA→TH-BKK`). Two kinds of samples, both bounded rings of the newest durations:
 *
 * - steps: (lane, from code) → the time until the parcel's next milestone, which sets how long a
 *   parcel may sit at a milestone before it counts as stalled;
 * - remaining: (lane, from code, target code) → the time from that milestone to the target
 *   (`delivered` by default), which gives a history-based ETA.
 *
 * The remaining time is sampled directly rather than summed from step medians along a "typical
 * chain": parcels skip steps (no customs, no sort) and loop (attempt, out for delivery again), so
 * there is no single chain to sum, and the median of a sum is not the sum of the medians. A direct
 * sample costs one ring per (lane, from, target) and answers with a single median.
 *
 * Pure: no clock, no I/O. The record functions mutate the stats they are given and return them,
 * so a caller folds timelines without copying rings of hundreds of numbers per milestone.
 */
export interface LaneStats {
  /** How many durations each ring keeps: the newest ones, so the stats follow a lane that changes. */
  readonly capacity: number
  /** The codes `remaining` samples are kept towards. */
  targets: readonly MilestoneCode[]
  steps: Map<string, Map<MilestoneCode, DurationSample>>
  remaining: Map<string, Map<string, DurationSample>>
}

/** A ring of the newest durations, in ms, with its sorted copy cached between writes. */
export interface DurationSample {
  values: number[]
  /** Once the ring is full: where the next duration goes, over the oldest one. */
  next: number
  /** How many durations were ever recorded, kept and dropped. */
  seen: number
  sorted: number[] | null
}

export interface LaneTimeline {
  lane: string
  milestones: ReadonlyArray<{ code: MilestoneCode, time: number }>
}

export interface LaneStatsOptions {
  capacity?: number
  targets?: readonly MilestoneCode[]
}

export const DEFAULT_CAPACITY = 500
export const DEFAULT_TARGETS: readonly MilestoneCode[] = ['delivered']
/** A stall threshold is never shorter than this, whatever the history or the SLA says. */
export const STALL_FLOOR_MS = 10 * 60_000

/**
 * Milestones the tracking rules derive from silence rather than observe: a step measured to one of
 * them would feed the stall threshold back into itself, so timelines are read without them.
 */
export const DERIVED_CODES = ['stalled', 'suspected_lost'] as const satisfies readonly MilestoneCode[]

export function emptyLaneStats (options: LaneStatsOptions = {}): LaneStats {
  const capacity = options.capacity ?? DEFAULT_CAPACITY
  if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, not ${capacity}`)
  return { capacity, targets: [...(options.targets ?? DEFAULT_TARGETS)], steps: new Map(), remaining: new Map() }
}

/**
 * Records how long a parcel on `lane` took from a `fromCode` milestone to its next milestone.
 * Mutates and returns `stats`; a negative or non-finite duration (clock skew, bad row) is dropped.
 */
export function recordDuration (stats: LaneStats, lane: string, fromCode: MilestoneCode, durationMs: number): LaneStats {
  if (!validDuration(durationMs)) return stats
  push(sampleIn(stats.steps, lane, fromCode), durationMs, stats.capacity)
  return stats
}

/**
 * Records how long a parcel on `lane` took from a `fromCode` milestone to a `toCode` milestone
 * (a target such as `delivered`). Mutates and returns `stats`.
 */
export function recordRemaining (stats: LaneStats, lane: string, fromCode: MilestoneCode, toCode: MilestoneCode, durationMs: number): LaneStats {
  if (!validDuration(durationMs)) return stats
  push(sampleIn(stats.remaining, lane, remainingKey(fromCode, toCode)), durationMs, stats.capacity)
  return stats
}

/**
 * Records what one parcel's timeline teaches: every step between consecutive observed milestones
 * (none from a final milestone), and for every milestone before a target, the time to the next
 * occurrence of that target. Mutates and returns `stats`.
 *
 * Live wiring records each step with `recordDuration` as milestones arrive, then calls this with
 * `{ steps: false }` once the parcel reaches a target, so no step is counted twice.
 */
export function recordTimeline (stats: LaneStats, timeline: LaneTimeline, include: { steps?: boolean, remaining?: boolean } = {}): LaneStats {
  const milestones = observedInOrder(timeline.milestones)
  if (include.steps ?? true) {
    for (let i = 0; i + 1 < milestones.length; i++) {
      const from = milestones[i]
      const to = milestones[i + 1]
      if (from === undefined || to === undefined || MILESTONES[from.code].final) continue
      recordDuration(stats, timeline.lane, from.code, to.time - from.time)
    }
  }
  if (include.remaining ?? true) {
    for (const target of stats.targets) {
      let reachedAt: number | null = null
      for (let i = milestones.length - 1; i >= 0; i--) {
        const m = milestones[i]
        if (m === undefined) continue
        if (m.code === target) reachedAt = m.time
        else if (reachedAt !== null) recordRemaining(stats, timeline.lane, m.code, target, reachedAt - m.time)
      }
    }
  }
  return stats
}

/** Builds the stats from stored timelines, e.g. the recent journeys read back on restart. */
export function buildLaneStats (timelines: Iterable<LaneTimeline>, options: LaneStatsOptions = {}): LaneStats {
  const stats = emptyLaneStats(options)
  for (const timeline of timelines) recordTimeline(stats, timeline)
  return stats
}

/**
 * The p-quantile (0 ≤ p ≤ 1) of the samples, interpolating linearly between the closest ranks
 * (numpy's default); undefined when there are none.
 */
export function percentile (samples: readonly number[], p: number): number | undefined {
  return quantileOfSorted([...samples].sort((a, b) => a - b), p)
}

/** The durations kept for one step, newest ones only. */
export function stepSamples (stats: LaneStats, lane: string, fromCode: MilestoneCode): readonly number[] {
  return stats.steps.get(lane)?.get(fromCode)?.values ?? []
}

export interface StallThresholdOptions {
  /** How many durations the history needs before it replaces the SLA. */
  minSamples: number
  /** Which quantile of the history is "normal but slow": 0.95 for the p95. */
  percentile: number
  /** How far past that quantile a parcel may go before it is stalled. */
  factor: number
  /** The configured time allowed for this step while there is not enough history. */
  slaMs: number
  /** Never shorter than this; STALL_FLOOR_MS unless told. */
  floorMs?: number
}

export interface StallThreshold {
  thresholdMs: number
  basis: 'history' | 'sla'
  /** How many durations the history holds for this step (at most the ring's capacity). */
  samples: number
}

/**
 * How long a parcel on `lane` may sit at `fromCode` before it counts as stalled: the quantile of
 * past durations times the factor once at least `minSamples` are known, the SLA before that, and
 * never below the floor.
 */
export function stallThresholdMs (stats: LaneStats, lane: string, fromCode: MilestoneCode, options: StallThresholdOptions): StallThreshold {
  const floorMs = options.floorMs ?? STALL_FLOOR_MS
  const sample = stats.steps.get(lane)?.get(fromCode)
  const samples = sample?.values.length ?? 0
  const quantile = sample !== undefined && samples >= Math.max(1, options.minSamples)
    ? quantileOfSorted(sortedOf(sample), options.percentile)
    : undefined
  if (quantile === undefined) return { thresholdMs: Math.max(floorMs, options.slaMs), basis: 'sla', samples }
  return { thresholdMs: Math.max(floorMs, Math.round(quantile * options.factor)), basis: 'history', samples }
}

/**
 * The median time from a `fromCode` milestone to `toCode` on `lane`, from parcels that made that
 * journey; 0 when the parcel is already there, undefined with fewer than `minSamples` (default 1)
 * or when `toCode` is not one of the stats' targets.
 */
export function expectedRemainingMs (stats: LaneStats, lane: string, fromCode: MilestoneCode, toCode: MilestoneCode, options: { minSamples?: number } = {}): number | undefined {
  if (fromCode === toCode) return 0
  const sample = stats.remaining.get(lane)?.get(remainingKey(fromCode, toCode))
  if (sample === undefined || sample.values.length < Math.max(1, options.minSamples ?? 1)) return undefined
  const median = quantileOfSorted(sortedOf(sample), 0.5)
  return median === undefined ? undefined : Math.round(median)
}

function validDuration (durationMs: number): boolean {
  return Number.isFinite(durationMs) && durationMs >= 0
}

function remainingKey (fromCode: MilestoneCode, toCode: MilestoneCode): string {
  return `${fromCode}>${toCode}`
}

function sampleIn<K> (byLane: Map<string, Map<K, DurationSample>>, lane: string, key: K): DurationSample {
  let byKey = byLane.get(lane)
  if (byKey === undefined) {
    byKey = new Map<K, DurationSample>()
    byLane.set(lane, byKey)
  }
  let sample = byKey.get(key)
  if (sample === undefined) {
    sample = { values: [], next: 0, seen: 0, sorted: null }
    byKey.set(key, sample)
  }
  return sample
}

function push (sample: DurationSample, durationMs: number, capacity: number): void {
  if (sample.values.length < capacity) {
    sample.values.push(durationMs)
  } else {
    // A full ring overwrites its oldest duration
    sample.values[sample.next] = durationMs
    sample.next = (sample.next + 1) % capacity
  }
  sample.seen++
  sample.sorted = null
}

function sortedOf (sample: DurationSample): number[] {
  sample.sorted ??= [...sample.values].sort((a, b) => a - b)
  return sample.sorted
}

function quantileOfSorted (sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0 || Number.isNaN(p)) return undefined
  const rank = Math.min(1, Math.max(0, p)) * (sorted.length - 1)
  const below = Math.floor(rank)
  const low = sorted[below] ?? 0
  const high = sorted[Math.min(below + 1, sorted.length - 1)] ?? low
  return low + (high - low) * (rank - below)
}

/** Observed milestones in time order (stable for equal times), without the derived ones. */
function observedInOrder (milestones: LaneTimeline['milestones']): Array<{ code: MilestoneCode, time: number }> {
  const derived: readonly MilestoneCode[] = DERIVED_CODES
  return milestones
    .filter((m) => !derived.includes(m.code) && Number.isFinite(m.time))
    .map((m, index) => ({ m, index }))
    .sort((a, b) => a.m.time - b.m.time || a.index - b.index)
    .map(({ m }) => ({ code: m.code, time: m.time }))
}
