import fp from 'fastify-plugin'
import { selectContainers } from '../db/queries/containers.js'
import { selectCustody } from '../db/queries/custody.js'
import { selectDevices } from '../db/queries/devices.js'
import { selectParcelsWithTracks } from '../db/queries/parcels.js'
import { selectLatestPositions, type PositionRecord } from '../db/queries/positions.js'
import { selectReaders } from '../db/queries/readers.js'
import { selectStations } from '../db/queries/stations.js'
import { selectVehicles } from '../db/queries/vehicles.js'
import { selectCrossings, selectGeofences } from '../db/queries/geofences.js'
import { DeviceStateStore } from '../state/device-state.js'
import { GeofenceStore } from '../state/geofences.js'
import { TagVisits } from '../state/tag-visits.js'
import type { GeofenceConfig } from '../tracking/geofence.js'
import { Registry } from '../state/registry.js'

declare module 'fastify' {
  interface FastifyInstance {
    registry: Registry
    geofences: GeofenceStore
    /** Each tag's current visit at each reader. */
    tagVisits: TagVisits
    deviceState: DeviceStateStore
    /** Each device's newest stored fix when the server started. */
    startupPositions: PositionRecord[]
  }
}

/** Rebuilds the in-memory registry and per-device state from the database. */
export default fp<{ geofence: GeofenceConfig, rfidWindowMs: number }>(async (app, { geofence, rfidWindowMs }) => {
  const sql = app.db.sql
  const registry = new Registry()
  for (const device of await selectDevices(sql)) registry.putDevice(device)
  for (const station of await selectStations(sql)) registry.putStation(station)
  for (const reader of await selectReaders(sql)) registry.putReader(reader)
  for (const vehicle of await selectVehicles(sql)) registry.putVehicle(vehicle)
  for (const parcel of await selectParcelsWithTracks(sql)) registry.putParcel(parcel)
  for (const container of await selectContainers(sql)) registry.putContainer(container)
  for (const { item, carrier, since } of await selectCustody(sql)) registry.custody.restore(item, { carrier, since })

  const geofences = new GeofenceStore(geofence)
  for (const fence of await selectGeofences(sql)) geofences.put(fence)
  for (const { vehicleId, fenceId, inside, time } of await selectCrossings(sql)) geofences.restore(vehicleId, fenceId, inside, time)

  const deviceState = new DeviceStateStore()
  const positions = await selectLatestPositions(sql)
  for (const position of positions) deviceState.restoreLatest(position.deviceId, position.time.getTime(), position.lat, position.lon)

  app.decorate('registry', registry)
  app.decorate('geofences', geofences)
  app.decorate('tagVisits', new TagVisits(rfidWindowMs))
  app.decorate('deviceState', deviceState)
  app.decorate('startupPositions', positions)
}, { name: 'trackstream-state', dependencies: ['trackstream-db'] })
