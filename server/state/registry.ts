import type { DeviceFormat } from '../../gateway/decoders/format.js'
import type { MilestoneCode, ScanMilestoneCode } from '../tracking/milestones.js'
import { Custody } from '../tracking/custody.js'
import type { ParcelTrack } from '../tracking/parcel-track.js'

/** A network server (The Things Stack, ChirpStack) reports for the LoRaWAN trackers behind it. */
export type DeviceKind = 'tracker' | 'reader' | 'network_server'

export interface DeviceRecord {
  id: string
  kind: DeviceKind
  format: DeviceFormat
  /** The tenant. A device only ever reaches its own topics, and a network server only its owner's trackers. */
  owner: string
  /** A network server's application (TTS `app@tenant`, ChirpStack application id); null otherwise. */
  scope: string | null
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
  /** null for a reader mounted in a vehicle */
  stationId: string | null
  milestone: ScanMilestoneCode
  name: string | null
  /** Ports with a meaning of their own, e.g. the inside antenna of a dock door means "loaded". */
  antennas: AntennaMapping[]
  /** The vehicle at this dock door: tags read as "loaded" go onto it, as "unloaded" come off it. */
  vehicleId: string | null
  /** Mounted in `vehicleId`: every tag it reads is aboard. */
  mounted: boolean
  createdAt: Date
}

export type ContainerKind = 'tote' | 'bag' | 'pallet' | 'uld' | 'container'

export interface ContainerRecord {
  id: string
  kind: ContainerKind
  name: string | null
  epc: string | null
  gs1Key: string | null
  createdAt: Date
}

export interface AntennaMapping {
  port: number
  milestone: ScanMilestoneCode
  /** null: the reader's station */
  stationId: string | null
  /** A dock door's warehouse-side (inner) or truck-side (outer) antenna: the order a tag passes them says loading or unloading. */
  side?: 'inner' | 'outer'
}

/** Who drives a vehicle now, and since when. */
export interface Driver {
  name: string
  phone: string | null
  since: Date
}

export interface VehicleRecord {
  id: string
  name: string
  plate: string | null
  deviceId: string | null
  driver: Driver | null
  createdAt: Date
}

export interface ParcelRecord {
  id: string
  trackingNumber: string
  epc: string | null
  /** "sscc:<18 digits>" or "sgtin:<GTIN-14>.<serial>": matches any tag that encodes it. */
  gs1Key: string | null
  token: string
  status: MilestoneCode
  statusAt: Date
  destination: Destination
  codAmount: string | null
  codCurrency: string | null
  /** ISO 3166-1 alpha-2; with the destination country it names the lane. */
  originCountry: string | null
  lastMilePartner: string | null
  /** The delivery date promised to the buyer. */
  promisedBy: Date | null
  createdAt: Date
  track: ParcelTrack
}

/** The lane a parcel travels: how long its steps normally take is learnt per lane. */
export function laneOf (parcel: Pick<ParcelRecord, 'originCountry' | 'destination'>): string {
  return `${parcel.originCountry ?? '*'}>${parcel.destination.country}`
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
  readonly containers = new Map<string, ContainerRecord>()
  /** What rides in what, now. */
  readonly custody = new Custody()
  private readonly containerByTag = new Map<string, ContainerRecord>()
  private readonly vehicleByDevice = new Map<string, VehicleRecord>()
  private readonly parcelByEpc = new Map<string, ParcelRecord>()
  private readonly parcelByToken = new Map<string, ParcelRecord>()
  private readonly parcelByNumber = new Map<string, ParcelRecord>()
  private readonly parcelByGs1 = new Map<string, ParcelRecord>()

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
    if (parcel.gs1Key !== null) this.parcelByGs1.set(parcel.gs1Key, parcel)
  }

  putContainer (container: ContainerRecord): void {
    this.containers.set(container.id, container)
    if (container.epc !== null) this.containerByTag.set(container.epc, container)
    if (container.gs1Key !== null) this.containerByTag.set(container.gs1Key, container)
  }

  containerOfTag (epc: string, gs1Key: string | null): ContainerRecord | undefined {
    return this.containerByTag.get(epc) ?? (gs1Key === null ? undefined : this.containerByTag.get(gs1Key))
  }

  vehicleOfDevice (deviceId: string): VehicleRecord | undefined {
    return this.vehicleByDevice.get(deviceId)
  }

  /** By the tag's exact EPC, or else by the GS1 key it encodes. */
  parcelByTag (epc: string, gs1Key: string | null): ParcelRecord | undefined {
    return this.parcelByEpc.get(epc) ?? (gs1Key === null ? undefined : this.parcelByGs1.get(gs1Key))
  }

  /** What a read on this antenna of this reader means, or undefined for a reader not placed anywhere. */
  meaningOf (readerId: string, antenna: number): { stationId: string, milestone: ScanMilestoneCode } | undefined {
    const reader = this.readers.get(readerId)
    if (reader === undefined) return undefined
    const port = reader.antennas.find((mapping) => mapping.port === antenna)
    const stationId = port?.stationId ?? reader.stationId
    return stationId === null ? undefined : { stationId, milestone: port?.milestone ?? reader.milestone }
  }

  parcelOfToken (token: string): ParcelRecord | undefined {
    return this.parcelByToken.get(token)
  }

  /** By id or by tracking number: ops paste either. */
  findParcel (idOrTrackingNumber: string): ParcelRecord | undefined {
    return this.parcels.get(idOrTrackingNumber) ?? this.parcelByNumber.get(idOrTrackingNumber)
  }
}
