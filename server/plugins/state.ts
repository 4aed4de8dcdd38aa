import fp from 'fastify-plugin'
import { selectDevices } from '../db/queries/devices.js'
import { selectParcelsWithTracks } from '../db/queries/parcels.js'
import { selectLatestPositions, type PositionRecord } from '../db/queries/positions.js'
import { selectReaders } from '../db/queries/readers.js'
import { selectStations } from '../db/queries/stations.js'
import { selectVehicles } from '../db/queries/vehicles.js'
import { DeviceStateStore } from '../state/device-state.js'
import { Registry } from '../state/registry.js'

declare module 'fastify' {
  interface FastifyInstance {
    registry: Registry
    deviceState: DeviceStateStore
    /** Each device's newest stored fix when the server started. */
    startupPositions: PositionRecord[]
  }
}

/** Rebuilds the in-memory registry and per-device state from the database. */
export default fp(async (app) => {
  const sql = app.db.sql
  const registry = new Registry()
  for (const device of await selectDevices(sql)) registry.putDevice(device)
  for (const station of await selectStations(sql)) registry.putStation(station)
  for (const reader of await selectReaders(sql)) registry.putReader(reader)
  for (const vehicle of await selectVehicles(sql)) registry.putVehicle(vehicle)
  for (const parcel of await selectParcelsWithTracks(sql)) registry.putParcel(parcel)

  const deviceState = new DeviceStateStore()
  const positions = await selectLatestPositions(sql)
  for (const position of positions) deviceState.restoreLatest(position.deviceId, position.time.getTime())

  app.decorate('registry', registry)
  app.decorate('deviceState', deviceState)
  app.decorate('startupPositions', positions)
}, { name: 'trackstream-state', dependencies: ['trackstream-db'] })
