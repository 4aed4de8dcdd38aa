import type { FastifyPluginAsync } from 'fastify'
import { deleteGeofence, insertGeofence } from '../db/queries/geofences.js'
import { isUniqueViolation } from '../db/sql.js'
import { Errors } from '../errors.js'
import { DEFAULT_MILESTONES } from '../engine/geofences.js'
import type { MilestoneCode } from '../tracking/milestones.js'
import { dateTime, idParams, idSchema, latSchema, listOf, lonSchema, milestoneCode, nullableString, ops } from './schemas.js'
import type { GeofenceKind, GeofenceRecord } from '../model.js'

const KINDS: GeofenceKind[] = ['station', 'customs', 'delivery_area', 'other']
const position = { type: 'array', minItems: 2, maxItems: 2, items: [lonSchema, latSchema] } as const

const shapeSchema = {
  oneOf: [
    {
      type: 'object',
      required: ['type', 'lat', 'lon', 'radiusM'],
      additionalProperties: false,
      properties: { type: { const: 'circle' }, lat: latSchema, lon: lonSchema, radiusM: { type: 'number', minimum: 10, maximum: 100_000 } }
    },
    {
      type: 'object',
      required: ['type', 'ring'],
      additionalProperties: false,
      properties: { type: { const: 'polygon' }, ring: { type: 'array', minItems: 3, maxItems: 2000, items: position, description: '[lon, lat] pairs, as in GeoJSON; closing the ring is optional' } }
    }
  ]
} as const

const geofenceSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    kind: { type: 'string' },
    stationId: nullableString,
    shape: { type: 'object', additionalProperties: true },
    onEnter: nullableString,
    onExit: nullableString,
    createdAt: dateTime
  }
} as const

interface GeofenceBody {
  id: string
  name: string
  kind: GeofenceKind
  stationId?: string
  shape: GeofenceRecord['shape']
  onEnter?: MilestoneCode | null
  onExit?: MilestoneCode | null
}

const geofences: FastifyPluginAsync = async (app) => {
  const { engine } = app
  const { config, fences } = engine.store

  app.post<{ Body: GeofenceBody }>('/api/geofences', {
    config: { access: 'fleet:write' },
    schema: {
      tags: ['places'],
      summary: 'Draw a geofence (a circle or a polygon) around a station, a customs zone or a delivery area',
      description: 'A vehicle entering or leaving it gives every parcel aboard the fence\'s milestone: by default a station fence means arrived_at_facility / departed_facility, a customs fence customs_entered / customs_cleared, other kinds nothing. GPS jitter at the edge does not flap: a fix must lie GEOFENCE_HYSTERESIS_M beyond the edge to count as outside, and a crossing must hold for GEOFENCE_DWELL_MS. Late fixes never cross.',
      ...ops,
      body: {
        type: 'object',
        required: ['id', 'name', 'kind', 'shape'],
        additionalProperties: false,
        properties: {
          id: idSchema,
          name: { type: 'string', minLength: 1, maxLength: 200 },
          kind: { type: 'string', enum: KINDS },
          stationId: idSchema,
          shape: shapeSchema,
          onEnter: { anyOf: [milestoneCode, { type: 'null' }] },
          onExit: { anyOf: [milestoneCode, { type: 'null' }] }
        }
      },
      response: { 201: geofenceSchema }
    }
  }, async (request, reply) => {
    const { id, name, kind, shape, stationId = null } = request.body
    if (stationId !== null && config.station(stationId) === undefined) throw new Errors.UnknownReference('station', stationId)
    const defaults = DEFAULT_MILESTONES[kind]
    let fence: GeofenceRecord
    try {
      fence = await insertGeofence(app.db.sql, {
        id,
        name,
        kind,
        stationId,
        shape: shape.type === 'polygon' ? { type: 'polygon', ring: openRing(shape.ring) } : shape,
        onEnter: request.body.onEnter === undefined ? defaults.onEnter : request.body.onEnter,
        onExit: request.body.onExit === undefined ? defaults.onExit : request.body.onExit
      })
    } catch (error) {
      if (isUniqueViolation(error)) throw new Errors.AlreadyExists('geofence', id)
      throw error
    }
    engine.putFence(fence)
    return await reply.code(201).send(fence)
  })

  app.get('/api/geofences', {
    config: { access: 'fleet:read' },
    schema: { tags: ['places'], summary: 'All geofences', ...ops, response: { 200: listOf(geofenceSchema) } }
  }, async () => ({ items: [...fences.fences()].sort((a, b) => a.id.localeCompare(b.id)) }))

  app.delete<{ Params: { id: string } }>('/api/geofences/:id', {
    config: { access: 'fleet:write' },
    schema: { tags: ['places'], summary: 'Remove a geofence', ...ops, params: idParams, response: { 204: { type: 'null' } } }
  }, async (request, reply) => {
    if (!await deleteGeofence(app.db.sql, request.params.id)) throw new Errors.NotFound('geofence', request.params.id)
    engine.removeFence(request.params.id)
    return await reply.code(204).send()
  })
}

/** GeoJSON closes a ring by repeating its first point; the point-in-polygon test wants it once. */
function openRing (ring: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  const points = ring.map(([lon, lat]) => [lon, lat] as [number, number])
  const first = points[0]
  const last = points.at(-1)
  if (points.length > 3 && first !== undefined && last !== undefined && first[0] === last[0] && first[1] === last[1]) points.pop()
  return points
}

export default geofences
