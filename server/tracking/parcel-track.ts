import { MILESTONES, type MilestoneCode } from './milestones.js'

/** What the tracking rules remember of one parcel: its recent milestones, oldest first. */
export interface ParcelTrack {
  recent: readonly TrackedMilestone[]
}

export interface TrackedMilestone {
  code: MilestoneCode
  time: number
  stationId: string | null
}

/** A reader at a station saw the parcel's tag. */
export interface ScanObserved {
  time: number
  stationId: string
  milestone: MilestoneCode
}

export interface Transition {
  track: ParcelTrack
  milestones: TrackedMilestone[]
}

/** How many milestones a parcel keeps in memory: enough to place any plausibly late scan. */
export const RECENT_LIMIT = 32

/**
 * A scan records its reader's milestone unless it repeats the neighbouring milestone at the same
 * station: readers report a tag many times while it sits in range, and scans can arrive late or
 * out of order. Pure: the caller stores the returned track.
 */
export function nextOnScan (track: ParcelTrack, scan: ScanObserved): Transition {
  const at = insertionIndex(track.recent, scan.time)
  // a parcel already delivered (or back with its sender) that a station reads later is a stray
  // read, a reused tag or a mix-up: the read is kept, but the journey does not restart
  if (track.recent.slice(0, at).some((milestone) => MILESTONES[milestone.code].final)) return { track, milestones: [] }
  const before = track.recent[at - 1]
  const after = track.recent[at]
  if (sameStep(before, scan) || sameStep(after, scan)) return { track, milestones: [] }
  return nextOnRecorded(track, { code: scan.milestone, time: scan.time, stationId: scan.stationId })
}

/** Where a milestone at `time` belongs; equal times go after existing ones. */
function insertionIndex (recent: readonly TrackedMilestone[], time: number): number {
  let index = recent.length
  while (index > 0 && (recent[index - 1]?.time ?? -Infinity) > time) index--
  return index
}

function sameStep (milestone: TrackedMilestone | undefined, scan: ScanObserved): boolean {
  return milestone !== undefined && milestone.code === scan.milestone && milestone.stationId === scan.stationId
}

/** A milestone stated outright (API, driver app) is always recorded, in time order. */
export function nextOnRecorded (track: ParcelTrack, milestone: TrackedMilestone): Transition {
  const before = track.recent
  const at = insertionIndex(before, milestone.time)
  const recent = [...before.slice(0, at), milestone, ...before.slice(at)].slice(-RECENT_LIMIT)
  return { track: { recent }, milestones: [milestone] }
}

/** The parcel's status is its latest milestone by time, not by arrival order. */
export function latestMilestone (track: ParcelTrack): TrackedMilestone | undefined {
  return track.recent.at(-1)
}

/**
 * A track packed as start-up reads it, for the parcels that have not moved since: its times in
 * one array of doubles, codes and stations in another. A million parcels' tracks take about half
 * the memory of arrays of milestone objects (which cost some 90 bytes each in V8). Reading
 * `recent` unpacks a fresh array: read it once per use. A parcel's next milestone gives it a
 * plain track (nextOnRecorded).
 */
export class PackedTrack implements ParcelTrack {
  private readonly times: number[]
  /** code, station, code, station, ... */
  private readonly places: Array<string | null>

  /** From newest to oldest, as the database gives them. */
  constructor (newestFirst: ReadonlyArray<readonly [MilestoneCode, number, string | null]>, intern: <S extends string | null>(value: S) => S) {
    const count = newestFirst.length
    this.times = new Array<number>(count)
    this.places = new Array<string | null>(2 * count)
    for (let i = 0; i < count; i++) {
      const [code, time, stationId] = newestFirst[count - 1 - i] as readonly [MilestoneCode, number, string | null]
      this.times[i] = time
      this.places[2 * i] = intern(code)
      this.places[2 * i + 1] = intern(stationId)
    }
  }

  get recent (): TrackedMilestone[] {
    const recent = new Array<TrackedMilestone>(this.times.length)
    for (let i = 0; i < recent.length; i++) {
      recent[i] = { code: this.places[2 * i] as MilestoneCode, time: this.times[i] as number, stationId: this.places[2 * i + 1] ?? null }
    }
    return recent
  }
}
