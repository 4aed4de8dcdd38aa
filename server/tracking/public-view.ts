import type { TimelineEntry } from '../db/queries/timeline.js'
import type { ParcelRecord } from '../state/registry.js'
import { MILESTONES, type MilestoneCode } from './milestones.js'

export interface PublicMilestone {
  code: MilestoneCode
  label: string
  time: string
  /** City-level: a buyer learns where the parcel is, not which dock door scanned it. */
  location: { city: string | null, country: string | null, timezone: string | null } | null
}

export interface PublicTracking {
  trackingNumber: string
  status: { code: MilestoneCode, label: string, time: string } | null
  destination: { city: string, country: string }
  cashOnDelivery: { amount: string, currency: string } | null
  /** When it should arrive: from the van's route while out for delivery, from the lane's history before. */
  eta: { time: string, basis: 'route' | 'lane' } | null
  milestones: PublicMilestone[]
}

/**
 * What a buyer holding the tracking link may see. Internal steps (sorted, loaded), ids, EPCs,
 * device ids, coordinates and the street address stay out.
 */
export function toPublicTracking (parcel: ParcelRecord, timeline: readonly TimelineEntry[], eta?: { eta: number, basis: 'route' | 'lane' }): PublicTracking {
  const milestones = publicMilestones(timeline)
  const latest = milestones.at(-1)
  return {
    trackingNumber: parcel.trackingNumber,
    status: latest === undefined ? null : { code: latest.code, label: latest.label, time: latest.time },
    destination: { city: parcel.destination.city, country: parcel.destination.country },
    cashOnDelivery: parcel.codAmount === null || parcel.codCurrency === null
      ? null
      : { amount: parcel.codAmount, currency: parcel.codCurrency },
    eta: eta === undefined ? null : { time: new Date(eta.eta).toISOString(), basis: eta.basis },
    milestones
  }
}

export function publicMilestones (timeline: readonly Pick<TimelineEntry, 'code' | 'time' | 'station'>[]): PublicMilestone[] {
  return timeline
    .filter((entry) => MILESTONES[entry.code].publicVisible)
    .map((entry) => ({
      code: entry.code,
      label: MILESTONES[entry.code].label,
      time: entry.time.toISOString(),
      location: entry.station === null
        ? null
        : { city: entry.station.city, country: entry.station.country, timezone: entry.station.timezone }
    }))
}
