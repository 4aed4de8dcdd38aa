import type { FastifyPluginAsync } from 'fastify'
import { insertVehicle, selectVehicles, updateVehicleDriver } from '../db/queries/vehicles.js'
import { isUniqueViolation } from '../db/sql.js'
import { Errors } from '../errors.js'
import { dateTime, idParams, idSchema, listOf, nullableNumber, nullableString, ops } from './schemas.js'
import type { Driver, VehicleRecord } from '../model.js'

const vehicleSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    plate: nullableString,
    deviceId: nullableString,
    driver: {
      type: ['object', 'null'],
      description: 'who drives it now; for the ops desk only, never shown to buyers',
      properties: { name: { type: 'string' }, phone: nullableString, since: dateTime }
    },
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

const driverInput = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200 },
    phone: { type: 'string', pattern: '^\\+?[0-9 ()-]{3,32}$', description: 'to call the driver from the ops map' }
  }
} as const

interface DriverInput { name: string, phone?: string }

const vehicles: FastifyPluginAsync = async (app) => {
  const { engine, hub } = app
  const { config } = engine.store

  const view = (vehicle: VehicleRecord) => {
    const position = vehicle.deviceId === null ? undefined : hub.latestPosition(vehicle.deviceId)
    return {
      ...vehicle,
      position: position === undefined ? null : { ...position, time: new Date(position.time).toISOString() }
    }
  }

  const driverOf = (input: DriverInput | null | undefined): Driver | null =>
    input == null ? null : { name: input.name, phone: input.phone ?? null, since: new Date(app.now()) }

  app.post<{ Body: { id: string, name: string, plate?: string, deviceId?: string, driver?: DriverInput } }>('/api/vehicles', {
    config: { access: 'fleet:write' },
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
          deviceId: { type: 'string', description: 'a registered device of kind tracker' },
          driver: driverInput
        }
      },
      response: { 201: vehicleSchema }
    }
  }, async (request, reply) => {
    const { deviceId = null, plate = null } = request.body
    if (deviceId !== null) {
      const device = config.device(deviceId)
      if (device === undefined) throw new Errors.UnknownReference('device', deviceId)
      if (device.kind !== 'tracker') throw new Errors.WrongKind(deviceId, 'tracker')
    }
    let vehicle: VehicleRecord
    try {
      vehicle = await insertVehicle(app.db.sql, { id: request.body.id, name: request.body.name, plate, deviceId, driver: driverOf(request.body.driver) })
    } catch (error) {
      if (isUniqueViolation(error)) throw new Errors.AlreadyExists('vehicle or its tracker', request.body.id)
      throw error
    }
    engine.putVehicle(vehicle)
    return await reply.code(201).send(view(vehicle))
  })

  app.get('/api/vehicles', {
    config: { access: 'fleet:read' },
    schema: { tags: ['vehicles'], summary: 'All vehicles with their latest position', ...ops, response: { 200: listOf(vehicleSchema) } }
  }, async () => ({ items: (await selectVehicles(app.db.sql)).map(view) }))

  app.get<{ Params: { id: string } }>('/api/vehicles/:id', {
    config: { access: 'fleet:read' },
    schema: { tags: ['vehicles'], summary: 'One vehicle: its tracker, driver and latest position', ...ops, params: idParams, response: { 200: vehicleSchema } }
  }, async (request) => {
    const vehicle = config.vehicle(request.params.id)
    if (vehicle === undefined) throw new Errors.NotFound('vehicle', request.params.id)
    return view(vehicle)
  })

  app.put<{ Params: { id: string }, Body: { driver: DriverInput | null } }>('/api/vehicles/:id/driver', {
    config: { access: 'fleet:write' },
    schema: {
      tags: ['vehicles'],
      summary: 'Say who drives the vehicle now (at the start of a shift), or null when nobody does',
      ...ops,
      params: idParams,
      body: { type: 'object', required: ['driver'], additionalProperties: false, properties: { driver: { anyOf: [driverInput, { type: 'null' }] } } },
      response: { 200: vehicleSchema }
    }
  }, async (request) => {
    const vehicle = await updateVehicleDriver(app.db.sql, request.params.id, driverOf(request.body.driver))
    if (vehicle === undefined) throw new Errors.NotFound('vehicle', request.params.id)
    engine.putVehicle(vehicle)
    return view(vehicle)
  })
}

export default vehicles
