import type { LatLon } from './geo.js'
import { MILESTONES, type MilestoneCode } from './milestones.js'
import type { PublicVan } from './van-view.js'
import type { ParcelRecord, TimelineEntry } from '../model.js'

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
  /**
   * The buyer's own address as a point on their map, when the parcel was registered with one; only
   * from "out for delivery" on, when there is a map. A tracking link gets forwarded, and for weeks
   * before that day the city is all it needs to say.
   */
  destinationPoint: LatLon | null
  /** Where the driver recorded the delivery. */
  deliveredAt: LatLon | null
  /** The van while it brings the parcel: coarse until it is near (van-view.ts); null otherwise. */
  van: PublicVan | null
}

/** All of the view but the van, which moves with every fix, and the ETA, which moves with the van and the lane: this part changes only with a milestone. */
export type PublicTrackingRecord = Omit<PublicTracking, 'van' | 'eta'>

/** What the buyer's view reads of the parcel itself: what it was registered with, which never changes. */
export type PublicParcel = Pick<ParcelRecord, 'id' | 'trackingNumber' | 'destination' | 'codAmount' | 'codCurrency'>

/** The steps from which the buyer's page has a map: their van is coming, or it came. */
const ON_THE_MAP: ReadonlySet<MilestoneCode> = new Set(['out_for_delivery', 'delivered'])

/**
 * What a buyer holding the tracking link may see. Internal steps (sorted, loaded), ids, EPCs,
 * device ids, vehicles, other parcels and the street address stay out; of coordinates, only the
 * buyer's own destination and delivery point.
 */
export function toPublicTracking (parcel: PublicParcel, timeline: readonly TimelineEntry[], recent: ReadonlyArray<{ code: MilestoneCode }> = []): PublicTrackingRecord {
  const milestones = publicMilestones(timeline)
  const latest = milestones.at(-1)
  const deliveredAt = deliveredPoint(timeline)
  // the engine's track of a parcel on its way (`recent`) is ahead of the timeline read from the
  // database while a milestone commits: it is what the van shown beside this view was read from
  const onTheMap = deliveredAt !== null || recent.some((step) => ON_THE_MAP.has(step.code)) || timeline.some((entry) => ON_THE_MAP.has(entry.code))
  return {
    trackingNumber: parcel.trackingNumber,
    status: latest === undefined ? null : { code: latest.code, label: latest.label, time: latest.time },
    destination: { city: parcel.destination.city, country: parcel.destination.country },
    cashOnDelivery: parcel.codAmount === null || parcel.codCurrency === null
      ? null
      : { amount: parcel.codAmount, currency: parcel.codCurrency },
    milestones,
    destinationPoint: onTheMap ? destinationPoint(parcel) : null,
    deliveredAt
  }
}

export function destinationPoint (parcel: Pick<ParcelRecord, 'destination'>): LatLon | null {
  const { lat, lon } = parcel.destination
  return lat === null || lon === null ? null : { lat, lon }
}

/** Where the latest delivery of these milestones (in time order) was recorded, if it was placed. */
export function deliveredPoint (milestones: ReadonlyArray<{ code: MilestoneCode, lat: number | null, lon: number | null }>): LatLon | null {
  for (let i = milestones.length - 1; i >= 0; i--) {
    const milestone = milestones[i]
    if (milestone?.code === 'delivered' && milestone.lat !== null && milestone.lon !== null) return { lat: milestone.lat, lon: milestone.lon }
  }
  return null
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
