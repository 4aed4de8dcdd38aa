import type { ParcelTrack } from '../tracking/parcel-track.js'
import { latestMilestone } from '../tracking/parcel-track.js'
import type { ParcelRecord } from './registry.js'

/** Stores a parcel's new track; its status follows the latest milestone by time. */
export function applyTrack (parcel: ParcelRecord, track: ParcelTrack): void {
  parcel.track = track
  const latest = latestMilestone(track)
  if (latest !== undefined) {
    parcel.status = latest.code
    parcel.statusAt = new Date(latest.time)
  }
}
