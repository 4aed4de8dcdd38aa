import type { MilestoneCode, ScanMilestoneCode } from '../tracking/milestones.js'
import type { ParcelTrack } from '../tracking/parcel-track.js'

export type DeviceKind = 'tracker' | 'reader'

export interface DeviceRecord {
  id: string
  kind: DeviceKind
  name: string | null
  secretHash: string
  disabled: boolean
  createdAt: Date
}

export interface StationRecord {
  id: string
  name: string
  kind: string
  lat: number
  lon: number
  city: string | null
  country: string | null
  timezone: string | null
  createdAt: Date
}

export interface ReaderRecord {
  deviceId: string
  stationId: string
  milestone: ScanMilestoneCode
  name: string | null
  createdAt: Date
}

export interface VehicleRecord {
  id: string
  name: string
  plate: string | null
  deviceId: string | null
  createdAt: Date
}

export interface ParcelRecord {
  id: string
  trackingNumber: string
  epc: string | null
  token: string
  status: MilestoneCode
  statusAt: Date
  destination: Destination
  codAmount: string | null
  codCurrency: string | null
  createdAt: Date
  track: ParcelTrack
}

export interface Destination {
  name: string | null
  address: string | null
  city: string
  postcode: string | null
  country: string
  lat: number | null
  lon: number | null
}

/**
 * The hot path's view of the configuration: who may connect, what each reader means, which
 * vehicle carries which tracker, which tag is which parcel. Loaded at start, kept current by
 * the API after each database write, and read synchronously by the pipeline.
 */
export class Registry {
  readonly devices = new Map<string, DeviceRecord>()
  readonly stations = new Map<string, StationRecord>()
  /** By the reader's device id. */
  readonly readers = new Map<string, ReaderRecord>()
  readonly vehicles = new Map<string, VehicleRecord>()
  readonly parcels = new Map<string, ParcelRecord>()
  private readonly vehicleByDevice = new Map<string, VehicleRecord>()
  private readonly parcelByEpc = new Map<string, ParcelRecord>()
  private readonly parcelByToken = new Map<string, ParcelRecord>()
  private readonly parcelByNumber = new Map<string, ParcelRecord>()

  putDevice (device: DeviceRecord): void {
    this.devices.set(device.id, device)
  }

  putStation (station: StationRecord): void {
    this.stations.set(station.id, station)
  }

  putReader (reader: ReaderRecord): void {
    this.readers.set(reader.deviceId, reader)
  }

  putVehicle (vehicle: VehicleRecord): void {
    const previous = this.vehicles.get(vehicle.id)
    if (previous?.deviceId != null) this.vehicleByDevice.delete(previous.deviceId)
    this.vehicles.set(vehicle.id, vehicle)
    if (vehicle.deviceId !== null) this.vehicleByDevice.set(vehicle.deviceId, vehicle)
  }

  putParcel (parcel: ParcelRecord): void {
    this.parcels.set(parcel.id, parcel)
    this.parcelByToken.set(parcel.token, parcel)
    this.parcelByNumber.set(parcel.trackingNumber, parcel)
    if (parcel.epc !== null) this.parcelByEpc.set(parcel.epc, parcel)
  }

  vehicleOfDevice (deviceId: string): VehicleRecord | undefined {
    return this.vehicleByDevice.get(deviceId)
  }

  parcelByTag (epc: string): ParcelRecord | undefined {
    return this.parcelByEpc.get(epc)
  }

  parcelOfToken (token: string): ParcelRecord | undefined {
    return this.parcelByToken.get(token)
  }

  /** By id or by tracking number: ops paste either. */
  findParcel (idOrTrackingNumber: string): ParcelRecord | undefined {
    return this.parcels.get(idOrTrackingNumber) ?? this.parcelByNumber.get(idOrTrackingNumber)
  }
}
