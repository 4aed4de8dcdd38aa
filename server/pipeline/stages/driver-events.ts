import { rejection } from '../../../gateway/rejects.js'
import type { DriverEvent } from '../../../proto/types.js'
import type { DeviceStateStore } from '../../state/device-state.js'
import type { Registry } from '../../state/registry.js'
import { parcelRef } from '../../tracking/custody.js'
import type { MilestoneCode, MilestoneDetail } from '../../tracking/milestones.js'
import { moveItem, record } from '../custody-moves.js'
import { DUPLICATE, type DriverItem, type Stage } from '../items.js'

const CODE_OF: Record<DriverEvent['type'], MilestoneCode> = {
  delivered: 'delivered',
  attempt_failed: 'delivery_attempted',
  cod_collected: 'cod_collected'
}

/** The app resends an event it has no answer for; the same event (type, parcel, time) counts once. */
export function dedupeDriverEvents (store: DeviceStateStore): Stage<DriverItem> {
  return {
    name: 'dedupe-driver-events',
    run: ({ event }) => store.get(event.deviceId).seenScan(`driver:${event.type}:${event.parcel}:${event.time}`) ? DUPLICATE : undefined
  }
}

/**
 * A driver's record at the door becomes the parcel's milestone, with the proof, the reason or the
 * cash it carries, placed where the driver stood. A delivered parcel is off the vehicle.
 */
export function driverMilestones (registry: Registry, deviceState: DeviceStateStore): Stage<DriverItem> {
  return {
    name: 'driver-milestones',
    run: (item) => {
      const { event } = item
      const parcel = registry.findParcel(event.parcel)
      if (parcel === undefined) return rejection('unknown_parcel', `no parcel "${event.parcel.slice(0, 64)}"`)
      if (event.cod !== undefined && parcel.codCurrency !== null && event.cod.currency !== parcel.codCurrency) {
        return rejection('cod_mismatch', `${event.cod.currency} collected for ${parcel.trackingNumber}, whose cash on delivery is in ${parcel.codCurrency}`)
      }
      const vehicleId = registry.custody.vehicleOf(parcelRef(parcel.id)) ?? registry.vehicleOfDevice(event.deviceId)?.id ?? null
      const at = event.lat !== undefined && event.lon !== undefined ? { lat: event.lat, lon: event.lon } : deviceState.positionOf(event.deviceId)
      const context = { time: event.time, source: 'driver' as const, deviceId: event.deviceId, stationId: null, note: event.note ?? null }
      item.milestones = record(registry, deviceState, parcel.id, CODE_OF[event.type], vehicleId, context, detailOf(event), at)
      if (event.type === 'delivered') {
        const moved = moveItem(registry, deviceState, parcelRef(parcel.id), null, context)
        // delivered says it all: no "unloaded" beside it
        item.custody = moved.custody
      }
      return undefined
    }
  }
}

function detailOf (event: DriverEvent): MilestoneDetail | null {
  const detail: MilestoneDetail = {}
  if (event.reason !== undefined) detail.reason = event.reason
  if (event.proof !== undefined) detail.proof = event.proof
  if (event.cod !== undefined) detail.cod = event.cod
  if (event.recipient !== undefined) detail.recipient = event.recipient
  return Object.keys(detail).length === 0 ? null : detail
}
