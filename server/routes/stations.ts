import type { FastifyPluginAsync } from 'fastify'
import { isTimeZone } from '../util/time-zone.js'
import { insertStation, selectStations } from '../db/queries/stations.js'
import { isUniqueViolation } from '../db/sql.js'
import { Errors } from '../errors.js'
import { countrySchema, dateTime, idSchema, latSchema, listOf, lonSchema, nullableString, ops } from './schemas.js'
import type { StationRecord } from '../model.js'

export const STATION_KINDS = ['warehouse', 'sort_centre', 'hub', 'depot', 'customs', 'airport', 'port', 'pickup_point'] as const

const stationSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    kind: { type: 'string' },
    lat: { type: 'number' },
    lon: { type: 'number' },
    city: nullableString,
    country: nullableString,
    timezone: nullableString,
    createdAt: dateTime
  }
} as const

type NewStation = Omit<StationRecord, 'createdAt' | 'city' | 'country' | 'timezone'> &
  Partial<Pick<StationRecord, 'city' | 'country' | 'timezone'>>

const stations: FastifyPluginAsync = async (app) => {

  app.post<{ Body: NewStation }>('/api/stations', {
    config: { access: 'fleet:write' },
    schema: {
      tags: ['places'],
      summary: 'Add a station: a warehouse, sort centre, depot, customs point or other place parcels pass',
      ...ops,
      body: {
        type: 'object',
        required: ['id', 'name', 'kind', 'lat', 'lon'],
        additionalProperties: false,
        properties: {
          id: idSchema,
          name: { type: 'string', minLength: 1, maxLength: 200 },
          kind: { type: 'string', enum: STATION_KINDS },
          lat: latSchema,
          lon: lonSchema,
          city: { type: 'string', maxLength: 200 },
          country: countrySchema,
          timezone: { type: 'string', maxLength: 64, description: 'IANA zone, e.g. Asia/Bangkok' }
        }
      },
      response: { 201: stationSchema }
    }
  }, async (request, reply) => {
    const { city = null, country = null, timezone = null, ...rest } = request.body
    if (timezone !== null && !isTimeZone(timezone)) throw new Errors.UnknownReference('IANA time zone', timezone)
    let station: StationRecord
    try {
      station = await insertStation(app.db.sql, { ...rest, city, country, timezone })
    } catch (error) {
      if (isUniqueViolation(error)) throw new Errors.AlreadyExists('station', request.body.id)
      throw error
    }
    app.engine.putStation(station)
    return await reply.code(201).send(station)
  })

  app.get('/api/stations', {
    config: { access: 'fleet:read' },
    schema: { tags: ['places'], summary: 'All stations', ...ops, response: { 200: listOf(stationSchema) } }
  }, async () => ({ items: await selectStations(app.db.sql) }))
}


export default stations
