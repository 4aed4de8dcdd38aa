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
  const at = insertionIndex(track.recent, milestone.time)
  const recent = [...track.recent.slice(0, at), milestone, ...track.recent.slice(at)].slice(-RECENT_LIMIT)
  return { track: { recent }, milestones: [milestone] }
}

/** The parcel's status is its latest milestone by time, not by arrival order. */
export function latestMilestone (track: ParcelTrack): TrackedMilestone | undefined {
  return track.recent[track.recent.length - 1]
}
