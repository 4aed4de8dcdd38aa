import type { FastifyPluginAsync } from 'fastify'
import { selectParcelByIdOrNumber } from '../db/queries/parcels.js'
import { mountReader, selectReaders, updateReaderVehicle, upsertReader } from '../db/queries/readers.js'
import { selectVisits } from '../db/queries/rfid-visits.js'
import { Errors } from '../errors.js'
import type { ScanMilestoneCode } from '../tracking/milestones.js'
import { dateTime, idParams, idSchema, listOf, nullableString, ops, scanMilestoneCode } from './schemas.js'
import type { AntennaMapping } from '../model.js'

const readerSchema = {
  type: 'object',
  properties: {
    deviceId: { type: 'string' },
    stationId: { ...nullableString, description: 'null for a reader mounted in a vehicle' },
    milestone: { type: 'string' },
    name: nullableString,
    antennas: {
      type: 'array',
      items: { type: 'object', properties: { port: { type: 'integer' }, milestone: { type: 'string' }, stationId: nullableString, side: { type: 'string' } } }
    },
    vehicleId: { ...nullableString, description: 'the vehicle at this dock door (tags read as loaded go onto it, as unloaded come off it), or the vehicle it is mounted in' },
    mounted: { type: 'boolean', description: 'mounted in the vehicle: every tag it reads is aboard' },
    createdAt: dateTime
  }
} as const

interface ReaderBody {
  stationId: string
  milestone: ScanMilestoneCode
  name?: string
  antennas?: Array<{ port: number, milestone: ScanMilestoneCode, stationId?: string, side?: 'inner' | 'outer' }>
}

const readers: FastifyPluginAsync = async (app) => {
  const { engine } = app
  const { config } = engine.store

  app.put<{ Params: { id: string }, Body: ReaderBody }>('/api/readers/:id', {
    config: { access: 'fleet:write' },
    schema: {
      tags: ['places'],
      summary: 'Place an RFID reader (a registered device of kind reader) at a station, and say what its scans mean',
      description: 'A parcel whose tag this reader scans gets the milestone given here, at the station\'s location. An antenna listed in `antennas` means its own milestone (and station, if given): the inside antenna of a dock door means loaded, the outside one unloaded. Placing a reader again replaces all of it.',
      ...ops,
      params: idParams,
      body: {
        type: 'object',
        required: ['stationId', 'milestone'],
        additionalProperties: false,
        properties: {
          stationId: idSchema,
          milestone: scanMilestoneCode,
          name: { type: 'string', maxLength: 200 },
          antennas: {
            type: 'array',
            maxItems: 64,
            items: {
              type: 'object',
              required: ['port', 'milestone'],
              additionalProperties: false,
              properties: {
                port: { type: 'integer', minimum: 1, maximum: 65535 },
                milestone: scanMilestoneCode,
                stationId: idSchema,
                side: { type: 'string', enum: ['inner', 'outer'], description: 'a dock door\'s warehouse-side (inner) or truck-side (outer) antenna: with a vehicle at the door, a tag passing inner then outer is loaded onto it, outer then inner unloaded' }
              }
            }
          }
        }
      },
      response: { 200: readerSchema }
    }
  }, async (request) => {
    const deviceId = request.params.id
    const device = config.device(deviceId)
    if (device === undefined) throw new Errors.UnknownReference('device', deviceId)
    if (device.kind !== 'reader') throw new Errors.WrongKind(deviceId, 'reader')
    const { stationId, milestone, name = null } = request.body
    const antennas: AntennaMapping[] = (request.body.antennas ?? []).map((a) => ({ port: a.port, milestone: a.milestone, stationId: a.stationId ?? null, ...(a.side === undefined ? {} : { side: a.side }) }))
    for (const id of [stationId, ...antennas.map((a) => a.stationId)]) {
      if (id !== null && config.station(id) === undefined) throw new Errors.UnknownReference('station', id)
    }
    if (new Set(antennas.map((a) => a.port)).size !== antennas.length) throw new Errors.BadShape('each antenna port may be listed once')
    const reader = await upsertReader(app.db.sql, { deviceId, stationId, milestone, name, antennas, vehicleId: config.reader(deviceId)?.vehicleId ?? null })
    engine.putReader(reader)
    return reader
  })

  app.put<{ Params: { id: string }, Body: { vehicleId: string | null, mounted?: boolean } }>('/api/readers/:id/vehicle', {
    config: { access: 'fleet:write' },
    schema: {
      tags: ['places'],
      summary: 'Say which vehicle is at this dock door (null when it leaves), or mount the reader in a vehicle (mounted: true)',
      description: 'While a vehicle is at the door, a parcel (or a container: a tote, a pallet) whose tag the reader reads as "loaded" is loaded onto it and takes its position from then on; one read as "unloaded" comes off it. Give the door\'s antennas their meanings with PUT /api/readers/{id}.',
      ...ops,
      params: idParams,
      body: {
        type: 'object',
        required: ['vehicleId'],
        additionalProperties: false,
        properties: {
          vehicleId: { anyOf: [idSchema, { type: 'null' }] },
          mounted: { type: 'boolean', description: 'an in-vehicle reader: every parcel or container whose tag it reads is loaded onto the vehicle' }
        }
      },
      response: { 200: readerSchema }
    }
  }, async (request) => {
    const { vehicleId, mounted = false } = request.body
    if (vehicleId !== null && config.vehicle(vehicleId) === undefined) throw new Errors.UnknownReference('vehicle', vehicleId)
    const device = config.device(request.params.id)
    if (mounted && device?.kind !== 'reader') throw device === undefined ? new Errors.UnknownReference('device', request.params.id) : new Errors.WrongKind(request.params.id, 'reader')
    if (mounted && vehicleId === null) throw new Errors.BadShape('a mounted reader needs its vehicle')
    const reader = mounted && vehicleId !== null
      ? await mountReader(app.db.sql, request.params.id, vehicleId)
      : await updateReaderVehicle(app.db.sql, request.params.id, vehicleId)
    if (reader === undefined) throw new Errors.NotFound('reader', request.params.id)
    engine.putReader(reader)
    return reader
  })

  app.get<{ Querystring: { readerId?: string, parcel?: string, limit: number } }>('/api/rfid-visits', {
    config: { access: 'fleet:read' },
    schema: {
      tags: ['places'],
      summary: 'Tag visits at readers, newest first: one row per tag, reader and visit however many reads it took, with which way it passed a dock door',
      ...ops,
      querystring: {
        type: 'object',
        properties: {
          readerId: { type: 'string' },
          parcel: { type: 'string', description: 'id or tracking number' },
          limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 }
        }
      },
      response: {
        200: listOf({
          type: 'object',
          properties: {
            readerId: { type: 'string' },
            epc: { type: 'string' },
            parcelId: nullableString,
            stationId: nullableString,
            firstSeen: dateTime,
            lastSeen: dateTime,
            reads: { type: 'integer' },
            peakRssi: { type: ['number', 'null'] },
            antennas: { type: 'array', items: { type: 'integer' } },
            direction: nullableString
          }
        })
      }
    }
  }, async (request) => {
    const { readerId, parcel, limit } = request.query
    const parcelId = parcel === undefined ? undefined : (engine.find(parcel) ?? await selectParcelByIdOrNumber(app.db.sql, parcel))?.id
    if (parcel !== undefined && parcelId === undefined) throw new Errors.NotFound('parcel', parcel)
    return { items: await selectVisits(app.db.sql, { readerId, parcelId, limit }) }
  })

  app.get('/api/readers', {
    config: { access: 'fleet:read' },
    schema: { tags: ['places'], summary: 'All readers and what their scans mean', ...ops, response: { 200: listOf(readerSchema) } }
  }, async () => ({ items: await selectReaders(app.db.sql) }))
}

export default readers
