import type { ContainerRecord, DeviceRecord, ReaderRecord, StationRecord, VehicleRecord } from '../model.js'
import type { ScanMilestoneCode } from '../tracking/milestones.js'

/**
 * The installation's configuration as the hot path reads it: who may connect, what each reader
 * means, which vehicle carries which tracker, which tag is which container. Small tables, kept
 * whole; the API keeps them current after each database write, through the engine.
 */
export class Configuration {
  private readonly devicesById = new Map<string, DeviceRecord>()
  private readonly stationsById = new Map<string, StationRecord>()
  /** By the reader's device id. */
  private readonly readersById = new Map<string, ReaderRecord>()
  private readonly vehiclesById = new Map<string, VehicleRecord>()
  private readonly containersById = new Map<string, ContainerRecord>()
  private readonly containerByTag = new Map<string, ContainerRecord>()
  private readonly vehicleByDevice = new Map<string, VehicleRecord>()
  /** A network server (The Things Stack, ChirpStack) by `<format>/<application>`. */
  private readonly networkServers = new Map<string, DeviceRecord>()
  private changes = 0

  /** Moves on with every change, so what is derived from the configuration (a search index) knows to rebuild. */
  get version (): number {
    return this.changes
  }

  device (id: string): DeviceRecord | undefined {
    return this.devicesById.get(id)
  }

  devices (): IterableIterator<DeviceRecord> {
    return this.devicesById.values()
  }

  putDevice (device: DeviceRecord): void {
    this.changes++
    const previous = this.devicesById.get(device.id)
    if (previous?.kind === 'network_server') this.networkServers.delete(`${previous.format}/${previous.scope ?? ''}`)
    this.devicesById.set(device.id, device)
    if (device.kind === 'network_server' && device.scope !== null) this.networkServers.set(`${device.format}/${device.scope}`, device)
  }

  /** The network server registered for this application: who a message on its topics is from. */
  networkServer (format: 'ttn' | 'chirpstack', application: string): DeviceRecord | undefined {
    return this.networkServers.get(`${format}/${application}`)
  }

  station (id: string): StationRecord | undefined {
    return this.stationsById.get(id)
  }

  stations (): IterableIterator<StationRecord> {
    return this.stationsById.values()
  }

  putStation (station: StationRecord): void {
    this.changes++
    this.stationsById.set(station.id, station)
  }

  reader (deviceId: string): ReaderRecord | undefined {
    return this.readersById.get(deviceId)
  }

  readers (): IterableIterator<ReaderRecord> {
    return this.readersById.values()
  }

  putReader (reader: ReaderRecord): void {
    this.changes++
    this.readersById.set(reader.deviceId, reader)
  }

  vehicle (id: string): VehicleRecord | undefined {
    return this.vehiclesById.get(id)
  }

  vehicles (): IterableIterator<VehicleRecord> {
    return this.vehiclesById.values()
  }

  putVehicle (vehicle: VehicleRecord): void {
    this.changes++
    const previous = this.vehiclesById.get(vehicle.id)
    if (previous?.deviceId != null) this.vehicleByDevice.delete(previous.deviceId)
    this.vehiclesById.set(vehicle.id, vehicle)
    if (vehicle.deviceId !== null) this.vehicleByDevice.set(vehicle.deviceId, vehicle)
  }

  vehicleOfDevice (deviceId: string): VehicleRecord | undefined {
    return this.vehicleByDevice.get(deviceId)
  }

  container (id: string): ContainerRecord | undefined {
    return this.containersById.get(id)
  }

  containers (): IterableIterator<ContainerRecord> {
    return this.containersById.values()
  }

  putContainer (container: ContainerRecord): void {
    this.changes++
    this.containersById.set(container.id, container)
    if (container.epc !== null) this.containerByTag.set(container.epc, container)
    if (container.gs1Key !== null) this.containerByTag.set(container.gs1Key, container)
  }

  containerOfTag (epc: string, gs1Key: string | null): ContainerRecord | undefined {
    return this.containerByTag.get(epc) ?? (gs1Key === null ? undefined : this.containerByTag.get(gs1Key))
  }

  /** What a read on this antenna of this reader means, or undefined for a reader not placed anywhere. */
  meaningOf (readerId: string, antenna: number): { stationId: string, milestone: ScanMilestoneCode } | undefined {
    const reader = this.readersById.get(readerId)
    if (reader === undefined) return undefined
    const port = reader.antennas.find((mapping) => mapping.port === antenna)
    const stationId = port?.stationId ?? reader.stationId
    return stationId === null ? undefined : { stationId, milestone: port?.milestone ?? reader.milestone }
  }
}
