import type { ActiveParcel } from '../model.js'
import { Custody, type CarrierRef, type ItemRef, type MoveOutcome } from '../tracking/custody.js'
import type { GeofenceConfig } from '../tracking/geofence.js'
import { Configuration } from './config.js'
import { DeviceStateStore } from './device-state.js'
import { GeofenceStore } from './geofences.js'
import { ActiveParcels } from './parcels.js'
import { TagVisits } from './tag-visits.js'

/** What rides in what, for reading: the engine alone moves things. */
export type CustodyView = Pick<Custody, 'entryOf' | 'carriersOf' | 'containersOf' | 'vehicleOf' | 'parcelsIn' | 'carries' | 'itemsIn' | 'itemsAboard'>

/**
 * Everything the tracking engine knows and the hot path reads synchronously: the configuration,
 * the parcels on their way, what rides in what, each vehicle's place among the geofences, each
 * tag's visit at each reader, and each device's recent fixes. The engine (engine.ts) is the only
 * one that changes tracking state in it; loading and configuration go through the engine too.
 *
 * In memory, in this process; each part sits behind methods, so the cluster work can back them
 * with PostgreSQL and Redis without the callers changing.
 */
export class Store {
  readonly config = new Configuration()
  readonly parcels = new ActiveParcels()
  private readonly custodyOf = new Custody()
  readonly fences: GeofenceStore
  readonly visits: TagVisits
  readonly devices = new DeviceStateStore()

  constructor (options: { geofence: GeofenceConfig, rfidWindowMs: number }) {
    this.fences = new GeofenceStore(options.geofence)
    this.visits = new TagVisits(options.rfidWindowMs)
  }

  get custody (): CustodyView {
    return this.custodyOf
  }

  /** Puts an item into a carrier (null: off everything): for the engine's commands alone. */
  move (item: ItemRef, carrier: CarrierRef | null, time: number): MoveOutcome {
    return this.custodyOf.move(item, carrier, time)
  }

  /** Forgets an item that rides in nothing: for the engine's commands alone. */
  release (item: ItemRef): void {
    this.custodyOf.release(item)
  }

  /** Where a vehicle is now, and since when: its tracker's newest fix. */
  vehiclePosition (vehicleId: string | null): { lat: number, lon: number, time: number } | undefined {
    const deviceId = vehicleId === null ? null : this.config.vehicle(vehicleId)?.deviceId ?? null
    return deviceId === null ? undefined : this.devices.positionOf(deviceId)
  }

  /** The parcels on a vehicle, however deeply packed, that are still on their way. */
  parcelsAboard (vehicleId: string): ActiveParcel[] {
    return this.custodyOf.parcelsIn(`vehicle:${vehicleId}`).flatMap((id) => {
      const parcel = this.parcels.get(id)
      return parcel === undefined ? [] : [parcel]
    })
  }

  restoreCustody (item: ItemRef, entry: { carrier: CarrierRef | null, since: number }): void {
    this.custodyOf.restore(item, entry)
  }
}
