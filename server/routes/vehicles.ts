import type { FastifyPluginAsync } from 'fastify'
import { insertVehicle, selectVehicles } from '../db/queries/vehicles.js'
import { isUniqueViolation } from '../db/sql.js'
import { Errors } from '../errors.js'
import type { VehicleRecord } from '../state/registry.js'
import { dateTime, idSchema, listOf, nullableNumber, nullableString, ops } from './schemas.js'

const vehicleSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    plate: nullableString,
    deviceId: nullableString,
    createdAt: dateTime,
    position: {
      type: ['object', 'null'],
      properties: {
        lat: { type: 'number' },
        lon: { type: 'number' },
        speed: nullableNumber,
        heading: nullableNumber,
        time: dateTime
      }
    }
  }
} as const

const vehicles: FastifyPluginAsync = async (app) => {
  const { registry, hub } = app
  app.addHook('onRequest', app.requireOps)

  const view = (vehicle: VehicleRecord) => {
    const position = vehicle.deviceId === null ? undefined : hub.latestPosition(vehicle.deviceId)
    return {
      ...vehicle,
      position: position === undefined ? null : { ...position, time: new Date(position.time).toISOString() }
    }
  }

  app.post<{ Body: { id: string, name: string, plate?: string, deviceId?: string } }>('/api/vehicles', {
    schema: {
      tags: ['vehicles'],
      summary: 'Add a vehicle, optionally with the tracker it carries',
      ...ops,
      body: {
        type: 'object',
        required: ['id', 'name'],
        additionalProperties: false,
        properties: {
          id: idSchema,
          name: { type: 'string', minLength: 1, maxLength: 200 },
          plate: { type: 'string', maxLength: 32 },
          deviceId: { type: 'string', description: 'a registered device of kind tracker' }
        }
      },
      response: { 201: vehicleSchema }
    }
  }, async (request, reply) => {
    const { deviceId = null, plate = null } = request.body
    if (deviceId !== null) {
      const device = registry.devices.get(deviceId)
      if (device === undefined) throw new Errors.UnknownReference('device', deviceId)
      if (device.kind !== 'tracker') throw new Errors.WrongKind(deviceId, 'tracker')
    }
    let vehicle: VehicleRecord
    try {
      vehicle = await insertVehicle(app.db.sql, { id: request.body.id, name: request.body.name, plate, deviceId })
    } catch (error) {
      if (isUniqueViolation(error)) throw new Errors.AlreadyExists('vehicle or its tracker', request.body.id)
      throw error
    }
    registry.putVehicle(vehicle)
    return await reply.code(201).send(view(vehicle))
  })

  app.get('/api/vehicles', {
    schema: { tags: ['vehicles'], summary: 'All vehicles with their latest position', ...ops, response: { 200: listOf(vehicleSchema) } }
  }, async () => ({ items: (await selectVehicles(app.db.sql)).map(view) }))
}

export default vehicles
