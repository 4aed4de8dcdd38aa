/**
 * Smoothing of raw RFID reads into visits, one per (reader, tag).
 *
 * A reader reports a tag many times a second, on one or more antennas, and uploads in batches that
 * can arrive late and out of order. A visit is the run of reads of one tag by one reader with no
 * gap, in read time, longer than `windowMs`. The caller keeps one `TagVisit` per (reader, tag) and
 * folds every read into it with `nextOnRead`; a timer sweep calls `closeExpired` for tags that left.
 *
 * Observations, in the order they are returned:
 * - `visit_start` as soon as the first read of a visit arrives, so that "arrived" is prompt;
 * - `direction` at most once per visit, at a dock door whose antennas have sides (see `judge`);
 * - `visit_end` exactly once per visit, when the next read is more than `windowMs` after the
 *   visit's `lastSeen` or when the sweep finds its window passed: the one row per tag, reader and
 *   window to store.
 *
 * Pure in the sense of no I/O, no clock and no database: `now` is an argument, on the same clock
 * as the read times. Not pure in the sense of immutable: to keep the hot path (a read inside the
 * window that only updates counters) free of allocations, `nextOnRead` and `closeExpired` MUTATE
 * the visit they are given. `nextOnRead` returns the same object unless it started a new visit;
 * the only allocation of such a read is the small result object (its `observations` is a shared,
 * frozen empty array).
 *
 * Arrival order: the counters of a visit (`firstSeen`, `lastSeen`, `count`, `peakRssi`,
 * `antennas`, the per-side sums) depend only on which reads were folded in, not on their order. A
 * visit whose reads span at most `windowMs` is one visit whatever order they arrive in; a longer
 * visit needs each read to arrive within `windowMs` of the span already seen, or it is split
 * (a read too far ahead) or dropped as stale (a read too far behind). Only the `visit_start` time
 * and the `direction` (decided from the reads in hand at the time) depend on arrival order.
 */

/** Which side of a dock door an antenna watches: the warehouse (inner) or the vehicle (outer). */
export type Side = 'inner' | 'outer'

/** Inner then outer is loading onto the vehicle at the door; outer then inner is unloading. */
export type Direction = 'loading' | 'unloading'

/** Reads each side needs before a direction is judged, unless the config says otherwise. */
export const DIRECTION_MIN_READS = 3

/** How one reader's reads are smoothed. */
export interface SmoothingConfig {
  /** A gap longer than this, in read time, ends a visit. */
  windowMs: number
  /** Antenna port → side, for a dock door. An empty map means "no direction" (e.g. a sorter). */
  sides: ReadonlyMap<number, Side>
  /** Reads each side needs before the direction is judged (at least 1); DIRECTION_MIN_READS when absent. */
  minReadsPerSide?: number
}

/** One raw read of a tag by a reader. */
export interface TagRead {
  time: number
  antenna: number
  rssi?: number
}

/** What a visit remembers of the reads on one side. Meaningless while `reads` is 0. */
export interface SideReads {
  reads: number
  /** Sum of `time - openedAt` over the reads: exact for integer milliseconds, whatever the order. */
  timeSum: number
  /** Earliest read time on this side. */
  first: number
  /** Latest read time on this side. */
  last: number
}

/** The state of one tag at one reader. Mutated in place by `nextOnRead` and `closeExpired`. */
export interface TagVisit {
  /** Time of the read that opened the visit (its `visit_start` time); the origin of the side sums. */
  openedAt: number
  firstSeen: number
  lastSeen: number
  /** Reads folded in, stale ones excluded. */
  count: number
  /** Strongest RSSI among the reads that carried one, or null. */
  peakRssi: number | null
  /** Antenna ports the tag was read on, ascending, each once. */
  antennas: number[]
  /** Side of the earliest read on a sided antenna (a tie counts as inner), or null. */
  firstSide: Side | null
  /** Side of the latest read on a sided antenna (a tie counts as inner), or null. */
  lastSide: Side | null
  inner: SideReads
  outer: SideReads
  /** The direction already emitted: final for the visit. */
  direction: Direction | null
  /** Its `visit_end` was emitted. A caller may keep a closed visit so late reads of it count as stale. */
  closed: boolean
}

export interface VisitStart {
  kind: 'visit_start'
  time: number
}

export interface VisitDirection {
  kind: 'direction'
  direction: Direction
  /** The first read, by read time, on the second side among the reads in hand when it was decided. */
  time: number
}

export interface VisitEnd {
  kind: 'visit_end'
  firstSeen: number
  lastSeen: number
  count: number
  peakRssi: number | null
  antennas: readonly number[]
  /** The direction the visit emitted, or null if it emitted none. */
  direction: Direction | null
}

export type Observation = VisitStart | VisitDirection | VisitEnd

export interface SmoothingStep {
  /** The visit to keep: the one given, updated in place, or a new one. */
  visit: TagVisit
  observations: readonly Observation[]
  /** The read belongs to a visit already closed and was ignored; the caller may count it. */
  stale: boolean
}

const NO_OBSERVATIONS: readonly Observation[] = Object.freeze([])

/**
 * Folds one read into the tag's visit at this reader (undefined for a tag it has not seen).
 * - More than `windowMs` after the visit's `lastSeen`: closes the visit (`visit_end`, unless the
 *   sweep already closed it) and starts a new one (`visit_start`).
 * - Otherwise, on a closed visit, or more than `windowMs` before its `firstSeen`: the read belongs
 *   to a visit that was already closed, so it is ignored and `stale` is true.
 * - Otherwise it is folded in, late or not: `firstSeen` may move back, `lastSeen` never does; and
 *   it may decide the direction.
 */
export function nextOnRead (visit: TagVisit | undefined, read: TagRead, config: SmoothingConfig): SmoothingStep {
  if (visit === undefined) return { visit: openVisit(read, config), observations: [visitStart(read)], stale: false }
  if (read.time - visit.lastSeen > config.windowMs) {
    const observations: Observation[] = visit.closed ? [visitStart(read)] : [close(visit), visitStart(read)]
    return { visit: openVisit(read, config), observations, stale: false }
  }
  if (visit.closed || read.time < visit.firstSeen - config.windowMs) return { visit, observations: NO_OBSERVATIONS, stale: true }
  const direction = fold(visit, read, config)
  return { visit, observations: direction === null ? NO_OBSERVATIONS : [direction], stale: false }
}

/**
 * The `visit_end` of a visit whose window has passed at `now` (more than `windowMs` after its
 * `lastSeen`), for a sweep to flush tags that left; null while the window is open or once the visit
 * is closed, so sweeping twice emits nothing twice. Marks the visit closed. With batched uploads,
 * sweep with `now` lagging by the longest upload delay, or late reads of the visit come after it
 * closed: stale if the caller kept the closed visit, a new visit of their own if it dropped it.
 */
export function closeExpired (visit: TagVisit, now: number, config: SmoothingConfig): VisitEnd | null {
  if (visit.closed || now - visit.lastSeen <= config.windowMs) return null
  return close(visit)
}

function visitStart (read: TagRead): VisitStart {
  return { kind: 'visit_start', time: read.time }
}

function openVisit (read: TagRead, config: SmoothingConfig): TagVisit {
  const visit: TagVisit = {
    openedAt: read.time,
    firstSeen: read.time,
    lastSeen: read.time,
    count: 0,
    peakRssi: null,
    antennas: [],
    firstSide: null,
    lastSide: null,
    inner: { reads: 0, timeSum: 0, first: read.time, last: read.time },
    outer: { reads: 0, timeSum: 0, first: read.time, last: read.time },
    direction: null,
    closed: false
  }
  fold(visit, read, config) // one read is on one side at most: never a direction
  return visit
}

function close (visit: TagVisit): VisitEnd {
  visit.closed = true
  const { firstSeen, lastSeen, count, peakRssi, direction } = visit
  return { kind: 'visit_end', firstSeen, lastSeen, count, peakRssi, antennas: visit.antennas.slice(), direction }
}

/** Updates the visit with a read that belongs to it; returns the direction if this read decided it. */
function fold (visit: TagVisit, read: TagRead, config: SmoothingConfig): VisitDirection | null {
  const { time, antenna, rssi } = read
  visit.count++
  if (time < visit.firstSeen) visit.firstSeen = time
  if (time > visit.lastSeen) visit.lastSeen = time
  if (rssi !== undefined && (visit.peakRssi === null || rssi > visit.peakRssi)) visit.peakRssi = rssi
  if (!visit.antennas.includes(antenna)) insertSorted(visit.antennas, antenna)

  const side = config.sides.get(antenna)
  if (side === undefined) return null
  const reads = side === 'inner' ? visit.inner : visit.outer
  if (reads.reads === 0 || time < reads.first) reads.first = time
  if (reads.reads === 0 || time > reads.last) reads.last = time
  reads.reads++
  reads.timeSum += time - visit.openedAt
  placeSides(visit)
  return visit.direction === null ? judge(visit, config) : null
}

function insertSorted (ports: number[], port: number): void {
  let at = ports.length
  while (at > 0 && (ports[at - 1] ?? -Infinity) > port) at--
  ports.splice(at, 0, port)
}

function placeSides (visit: TagVisit): void {
  const { inner, outer } = visit
  if (inner.reads === 0 || outer.reads === 0) {
    const only: Side = inner.reads > 0 ? 'inner' : 'outer'
    visit.firstSide = only
    visit.lastSide = only
    return
  }
  visit.firstSide = outer.first < inner.first ? 'outer' : 'inner'
  visit.lastSide = outer.last > inner.last ? 'outer' : 'inner'
}

/**
 * The direction rule: once both sides have at least `minReadsPerSide` reads (3 by default), the
 * side whose reads have the earlier MEAN read time is the side the tag came from. Ties wait for
 * the next read. Decided once; the direction's time is the first read on the side it went to.
 *
 * Why the mean of all reads per side, and not "the side of the first read, then the other":
 * antennas at a door see through it (crosstalk, reflections off the truck), so a stray read on the
 * far side before the tag reaches it is common, and one such read would flip a first-read rule;
 * the mean weighs every read, so a minority of stray reads only nudges it. Why the mean rather
 * than the median: it needs two numbers per side (count and sum) and no per-read storage, so the
 * hot path allocates nothing; sums relative to `openedAt` stay exact for integer milliseconds, so
 * the same reads give the same means in any order. Why 3 reads per side: one or two reads on a
 * side is what crosstalk looks like, and at the usual 5–50 reads a second per antenna, 3 reads
 * take well under a second, so the loading or unloading milestone stays prompt.
 *
 * Not decided when the visit ends: a visit that never reached the threshold on both sides lacks
 * the evidence (its `visit_end` has direction null), and deciding there would need a second
 * observation from `closeExpired`.
 *
 * At most one direction per visit: late reads that would tip the means the other way emit nothing
 * and `visit_end.direction` repeats the direction emitted, so the stored row agrees with the
 * milestone already recorded. The caller can still compare `visit.inner` and `visit.outer` at close.
 * Known limit: a tag that lingers in the doorway, read by both sides alike, can reach the threshold
 * with means that barely differ; the early judgement then stands.
 */
function judge (visit: TagVisit, config: SmoothingConfig): VisitDirection | null {
  const { inner, outer } = visit
  const needed = Math.max(1, config.minReadsPerSide ?? DIRECTION_MIN_READS)
  if (inner.reads < needed || outer.reads < needed) return null
  const innerMean = inner.timeSum / inner.reads
  const outerMean = outer.timeSum / outer.reads
  if (innerMean === outerMean) return null
  const direction: Direction = innerMean < outerMean ? 'loading' : 'unloading'
  visit.direction = direction
  return { kind: 'direction', direction, time: direction === 'loading' ? outer.first : inner.first }
}
