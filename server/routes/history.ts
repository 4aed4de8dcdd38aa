import type { FastifyPluginAsync } from 'fastify'
import { selectVehicleMilestones, selectVehicleTrack } from '../db/queries/vehicle-history.js'
import { Errors } from '../errors.js'
import { MILESTONES } from '../tracking/milestones.js'
import { dateTime, idParams, nullableNumber, nullableString, ops } from './schemas.js'

const HOUR_MS = 3_600_000
const DEFAULT_RANGE_MS = 24 * HOUR_MS
// a week of fixes every few seconds is hundreds of thousands of rows: more than a map or a browser wants
const MAX_RANGE_MS = 7 * 24 * HOUR_MS
/** More fixes than this in the range are sampled evenly down to this many. */
export const MAX_HISTORY_POINTS = 10_000
const MAX_HISTORY_MILESTONES = 5_000

const historySchema = {
  type: 'object',
  properties: {
    vehicleId: { type: 'string' },
    from: dateTime,
    to: dateTime,
    positions: {
      type: 'array',
      items: {
        type: 'object',
        properties: { time: dateTime, lat: { type: 'number' }, lon: { type: 'number' }, speed: nullableNumber, heading: nullableNumber }
      }
    },
    milestones: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          time: dateTime,
          code: { type: 'string' },
          label: { type: 'string' },
          trackingNumber: { type: 'string' },
          lat: nullableNumber,
          lon: nullableNumber,
          stationId: nullableString
        }
      }
    },
    truncated: {
      type: 'boolean',
      description: `true when the range held more than ${MAX_HISTORY_POINTS} fixes (positions is then an even sample that keeps the first and last) or more than ${MAX_HISTORY_MILESTONES} milestones`
    }
  }
} as const

/** The ops desk's replay: where a vehicle drove over a time range, and what happened to parcels on it. */
const historyRoutes: FastifyPluginAsync = async (app) => {
  const { config } = app.engine.store

  app.get<{ Params: { id: string }, Querystring: { from?: string, to?: string } }>('/api/vehicles/:id/history', {
    config: { access: 'fleet:read' },
    schema: {
      tags: ['vehicles'],
      summary: 'A vehicle\'s route over a time range (default: the last 24 hours, at most 7 days), with the milestones recorded along it',
      ...ops,
      params: idParams,
      querystring: { type: 'object', properties: { from: dateTime, to: dateTime } },
      response: { 200: historySchema }
    }
  }, async (request) => {
    const vehicle = config.vehicle(request.params.id)
    if (vehicle === undefined) throw new Errors.NotFound('vehicle', request.params.id)
    const to = request.query.to === undefined ? app.now() : Date.parse(request.query.to)
    const from = request.query.from === undefined ? to - DEFAULT_RANGE_MS : Date.parse(request.query.from)
    if (from > to) throw new Errors.BadShape('from is after to')
    if (to - from > MAX_RANGE_MS) throw new Errors.BadShape('the range is longer than 7 days')
    const range = { from: new Date(from), to: new Date(to) }
    const [track, milestones] = await Promise.all([
      vehicle.deviceId === null
        ? { points: [], total: 0 }
        : selectVehicleTrack(app.db.sql, { deviceId: vehicle.deviceId, ...range, maxPoints: MAX_HISTORY_POINTS }),
      selectVehicleMilestones(app.db.sql, { vehicleId: vehicle.id, ...range, limit: MAX_HISTORY_MILESTONES + 1 })
    ])
    return {
      vehicleId: vehicle.id,
      ...range,
      positions: track.points,
      milestones: milestones.slice(0, MAX_HISTORY_MILESTONES).map((m) => ({ ...m, label: MILESTONES[m.code].label })),
      truncated: track.total > track.points.length || milestones.length > MAX_HISTORY_MILESTONES
    }
  })
}

export default historyRoutes
