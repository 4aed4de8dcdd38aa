import { rejection, type Rejection } from '../../gateway/rejects.js'
import type { DriverEvent } from '../../proto/types.js'
import { parcelRef } from '../tracking/custody.js'
import type { MilestoneCode, MilestoneDetail } from '../tracking/milestones.js'
import { recordMilestone, type Effects, type TrackObserver } from './milestones.js'
import type { Store } from './store.js'

const CODE_OF: Record<DriverEvent['type'], MilestoneCode> = {
  delivered: 'delivered',
  attempt_failed: 'delivery_attempted',
  cod_collected: 'cod_collected'
}

/** The app resends an event it has no answer for; the same event (type, parcel, time) counts once. */
export function seenDriverEvent (store: Store, event: DriverEvent): boolean {
  return store.devices.get(event.deviceId).seenScan(`driver:${event.type}:${event.parcel}:${event.time}`)
}

/**
 * A driver's record at the door becomes the parcel's milestone, with the proof, the reason or the
 * cash it carries, placed where the driver stood. A delivered parcel is off the vehicle.
 * The parcel must be in the store: on its way, or read back from the database by the caller
 * (a late word about one that has ended: the cash collected after the delivery).
 */
export function driverEffects (store: Store, observer: TrackObserver, event: DriverEvent): Effects | Rejection {
  const parcel = store.parcels.find(event.parcel)
  if (parcel === undefined) return rejection('unknown_parcel', `no parcel "${event.parcel.slice(0, 64)}"`)
  if (event.cod !== undefined && parcel.codCurrency !== null && event.cod.currency !== parcel.codCurrency) {
    return rejection('cod_mismatch', `${event.cod.currency} collected for ${parcel.trackingNumber}, whose cash on delivery is in ${parcel.codCurrency}`)
  }
  const vehicleId = store.custody.vehicleOf(parcelRef(parcel.id)) ?? store.config.vehicleOfDevice(event.deviceId)?.id ?? null
  const at = event.lat !== undefined && event.lon !== undefined ? { lat: event.lat, lon: event.lon } : store.devices.positionOf(event.deviceId)
  const context = { time: event.time, source: 'driver' as const, deviceId: event.deviceId, stationId: null, note: event.note ?? null }
  return recordMilestone(store, observer, parcel, CODE_OF[event.type], vehicleId, context, detailOf(event), at)
}

function detailOf (event: DriverEvent): MilestoneDetail | null {
  const detail: MilestoneDetail = {}
  if (event.reason !== undefined) detail.reason = event.reason
  if (event.proof !== undefined) detail.proof = event.proof
  if (event.cod !== undefined) detail.cod = event.cod
  if (event.recipient !== undefined) detail.recipient = event.recipient
  return Object.keys(detail).length === 0 ? null : detail
}
