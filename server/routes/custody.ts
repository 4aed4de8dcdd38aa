import type { FastifyPluginAsync } from 'fastify'
import { gs1KeyOf, isValidSscc, ssccKey } from '../../gateway/epc.js'
import { insertContainer } from '../db/queries/containers.js'
import { isUniqueViolation } from '../db/sql.js'
import { Errors } from '../errors.js'
import { containerRef, parcelRef, vehicleRef, type CarrierRef, type ItemRef } from '../tracking/custody.js'
import { dateTime, idParams, idSchema, listOf, nullableString, ops } from './schemas.js'
import { emptyWriteSet, type ContainerKind, type ContainerRecord, type WriteSet } from '../model.js'

const CONTAINER_KINDS: ContainerKind[] = ['tote', 'bag', 'pallet', 'uld', 'container']

const containerSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    kind: { type: 'string' },
    name: nullableString,
    epc: nullableString,
    gs1Key: nullableString,
    createdAt: dateTime,
    carriers: { type: 'array', items: { type: 'string' }, description: 'what it rides in, nearest first: "container:<id>", "vehicle:<id>"' },
    contents: { type: 'array', items: { type: 'string' }, description: 'what rides in it directly: "parcel:<id>", "container:<id>"' }
  }
} as const

const itemSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
  properties: {
    parcel: { type: 'string', minLength: 1, maxLength: 128, description: 'id or tracking number' },
    container: idSchema
  }
} as const

interface MoveBody {
  items: Array<{ parcel?: string, container?: string }>
  into: { vehicle?: string, container?: string } | null
  time?: string
  stationId?: string
}

/**
 * Containers (totes, bags, pallets, ULDs) and what rides in what. Loading onto a vehicle by hand
 * or from another system; dock-door readers do the same from tag reads (PUT /api/readers/{id}/vehicle).
 */
const custody: FastifyPluginAsync = async (app) => {
  const { engine } = app
  const { config, custody: aboard } = engine.store

  const view = (container: ContainerRecord) => ({
    ...container,
    carriers: aboard.carriersOf(containerRef(container.id)),
    contents: aboard.itemsIn(containerRef(container.id))
  })

  app.post<{ Body: { id: string, kind: ContainerKind, name?: string, epc?: string, sscc?: string } }>('/api/containers', {
    config: { access: 'custody:write' },
    schema: {
      tags: ['custody'],
      summary: 'Register a container: a tote, a bag, a pallet, a ULD; its tag makes dock-door readers load it with everything inside',
      ...ops,
      body: {
        type: 'object',
        required: ['id', 'kind'],
        additionalProperties: false,
        properties: {
          id: idSchema,
          kind: { type: 'string', enum: CONTAINER_KINDS },
          name: { type: 'string', maxLength: 200 },
          epc: { type: 'string', pattern: '^([0-9A-Fa-f]{2}){2,62}$' },
          sscc: { type: 'string', pattern: '^\\d{18}$', description: 'the SSCC on its label: matches any SSCC-96 tag encoding it' }
        }
      },
      response: { 201: containerSchema }
    }
  }, async (request, reply) => {
    const { id, kind, name = null, epc, sscc } = request.body
    if (sscc !== undefined && !isValidSscc(sscc)) throw new Errors.BadShape(`SSCC ${sscc} has a wrong check digit`)
    let container: ContainerRecord
    try {
      container = await insertContainer(app.db.sql, {
        id, kind, name, epc: epc?.toUpperCase() ?? null, gs1Key: sscc === undefined ? (epc === undefined ? null : gs1KeyOf(epc)) : ssccKey(sscc)
      })
    } catch (error) {
      if (isUniqueViolation(error)) throw new Errors.AlreadyExists('container with this id or tag', id)
      throw error
    }
    engine.putContainer(container)
    return await reply.code(201).send(view(container))
  })

  app.get('/api/containers', {
    config: { access: 'fleet:read' },
    schema: { tags: ['custody'], summary: 'All containers, with where each rides and what is in it', ...ops, response: { 200: listOf(containerSchema) } }
  }, async () => ({ items: [...config.containers()].map(view) }))

  app.get<{ Params: { id: string } }>('/api/containers/:id', {
    config: { access: 'fleet:read' },
    schema: { tags: ['custody'], summary: 'One container', ...ops, params: idParams, response: { 200: containerSchema } }
  }, async (request) => {
    const container = config.container(request.params.id)
    if (container === undefined) throw new Errors.NotFound('container', request.params.id)
    return view(container)
  })

  app.post<{ Body: MoveBody }>('/api/custody', {
    config: { access: 'custody:write' },
    schema: {
      tags: ['custody'],
      summary: 'Put parcels or containers into a container or onto a vehicle, or take them off everything (into: null)',
      description: 'Every parcel whose vehicle changes, the contents of a moved container included, gets "unloaded" from the old vehicle and "loaded" onto the new one, placed where the vehicle is. A move older than the item\'s last move is refused, so a late report never undoes a newer one.',
      ...ops,
      body: {
        type: 'object',
        required: ['items', 'into'],
        additionalProperties: false,
        properties: {
          items: { type: 'array', minItems: 1, maxItems: 1000, items: itemSchema },
          into: {
            anyOf: [
              { type: 'null' },
              { type: 'object', additionalProperties: false, minProperties: 1, maxProperties: 1, properties: { vehicle: idSchema, container: idSchema } }
            ]
          },
          time: { ...dateTime, description: 'defaults to now' },
          stationId: idSchema
        }
      },
      response: {
        200: {
          type: 'object',
          properties: {
            moved: { type: 'array', items: { type: 'string' } },
            refused: { type: 'array', items: { type: 'object', properties: { item: { type: 'string' }, why: { type: 'string' } } } },
            loaded: { type: 'integer', description: 'parcels now on a vehicle they were not on' },
            unloaded: { type: 'integer' }
          }
        }
      }
    }
  }, async (request) => {
    const { items, into, stationId = null } = request.body
    if (stationId !== null && config.station(stationId) === undefined) throw new Errors.UnknownReference('station', stationId)
    const carrier = carrierOf(into)
    const refs: ItemRef[] = []
    for (const item of items) refs.push(await itemOf(item))
    const time = request.body.time === undefined ? app.now() : Date.parse(request.body.time)
    const set: WriteSet = emptyWriteSet()
    const moved: string[] = []
    const refused: Array<{ item: string, why: string }> = []
    for (const ref of refs) {
      const result = engine.move(ref, carrier, { time, source: 'api', deviceId: null, stationId })
      if (!result.outcome.ok) {
        refused.push({ item: ref, why: result.outcome.why })
        continue
      }
      moved.push(ref)
      set.milestones.push(...result.milestones)
      set.custody.push(...result.custody)
    }
    await app.record(set, 'the custody change')
    return {
      moved,
      refused,
      loaded: set.milestones.filter((m) => m.code === 'loaded').length,
      unloaded: set.milestones.filter((m) => m.code === 'unloaded').length
    }
  })

  app.get<{ Params: { id: string } }>('/api/vehicles/:id/aboard', {
    config: { access: 'fleet:read' },
    schema: {
      tags: ['vehicles'],
      summary: 'What a vehicle carries: the containers and parcels directly aboard, and every parcel however deeply packed',
      ...ops,
      params: idParams,
      response: {
        200: {
          type: 'object',
          properties: {
            items: { type: 'array', items: { type: 'string' } },
            parcels: {
              type: 'array',
              items: {
                type: 'object',
                properties: { id: { type: 'string' }, trackingNumber: { type: 'string' }, status: { type: 'string' }, via: { type: 'array', items: { type: 'string' } } }
              }
            }
          }
        }
      }
    }
  }, async (request) => {
    const vehicleId = request.params.id
    if (config.vehicle(vehicleId) === undefined) throw new Errors.NotFound('vehicle', vehicleId)
    return {
      items: aboard.itemsIn(vehicleRef(vehicleId)),
      parcels: engine.store.parcelsAboard(vehicleId).map((parcel) => ({
        id: parcel.id, trackingNumber: parcel.trackingNumber, status: parcel.status, via: aboard.containersOf(parcelRef(parcel.id))
      }))
    }
  })

  async function itemOf (item: { parcel?: string, container?: string }): Promise<ItemRef> {
    if (item.parcel !== undefined) {
      const parcel = await app.findParcel(item.parcel)
      if (parcel === undefined) throw new Errors.UnknownReference('parcel', item.parcel)
      return parcelRef(parcel.id)
    }
    const id = item.container ?? ''
    if (config.container(id) === undefined) throw new Errors.UnknownReference('container', id)
    return containerRef(id)
  }

  function carrierOf (into: MoveBody['into']): CarrierRef | null {
    if (into === null) return null
    if (into.vehicle !== undefined) {
      if (config.vehicle(into.vehicle) === undefined) throw new Errors.UnknownReference('vehicle', into.vehicle)
      return vehicleRef(into.vehicle)
    }
    const id = into.container ?? ''
    if (config.container(id) === undefined) throw new Errors.UnknownReference('container', id)
    return containerRef(id)
  }
}

export default custody
