import type { FastifyPluginAsync } from 'fastify'
import { selectExceptions } from '../db/queries/exceptions.js'
import { EXCEPTION_KINDS, type ExceptionKind } from '../model.js'
import { parcelRef } from '../tracking/custody.js'
import { dateTime, nullableString, ops } from './schemas.js'

const place = { type: ['object', 'null'], properties: { lat: { type: 'number' }, lon: { type: 'number' }, time: dateTime, source: { type: 'string' } } } as const

const exceptions: FastifyPluginAsync = async (app) => {
  const { store } = app.engine

  app.get<{ Querystring: { state: 'open' | 'all', kind?: ExceptionKind, limit: number } }>('/api/exceptions', {
    config: { access: 'exceptions:read' },
    schema: {
      tags: ['parcels'],
      summary: 'Stalled, suspected-lost and customs-held parcels, silent vehicles and readers\' disconnected antennas, newest first, each with its age, last position and last scan',
      description: 'Raised by the tracking engine when they start to hold and cleared when they stop: a new milestone clears a stall, a fix clears a silent vehicle, the reader saying the antenna is connected again clears its antenna_disconnected (detail.port names the port). A step counts as stalled after 1.5 × the p95 of how long it took on the parcel\'s lane (once 20 are known; STALL_SLA_MS before that); suspected lost after 4 × that; customs dwell after CUSTOMS_SLA_MS; a vehicle carrying parcels is silent after VEHICLE_SILENT_MS without a fix.',
      ...ops,
      querystring: {
        type: 'object',
        properties: {
          state: { type: 'string', enum: ['open', 'all'], default: 'open' },
          kind: { type: 'string', enum: EXCEPTION_KINDS },
          limit: { type: 'integer', minimum: 1, maximum: 1000, default: 200 }
        }
      },
      response: {
        200: {
          type: 'object',
          properties: {
            items: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  id: { type: 'string' },
                  kind: { type: 'string' },
                  parcel: { type: ['object', 'null'], properties: { id: { type: 'string' }, trackingNumber: { type: 'string' }, status: { type: 'string' } } },
                  vehicleId: nullableString,
                  deviceId: { ...nullableString, description: 'the reader, for antenna_disconnected' },
                  openedAt: dateTime,
                  clearedAt: { type: ['string', 'null'], format: 'date-time' },
                  ageSeconds: { type: 'integer', description: 'how long it has held (until cleared)' },
                  detail: { type: 'object', additionalProperties: true },
                  lastPosition: place,
                  lastMilestone: { type: ['object', 'null'], properties: { code: { type: 'string' }, time: dateTime, stationId: nullableString } },
                  lastScan: { type: ['object', 'null'], properties: { time: dateTime, readerId: { type: 'string' }, stationId: nullableString } }
                }
              }
            }
          }
        }
      }
    }
  }, async (request) => {
    const now = app.now()
    const rows = await selectExceptions(app.db.sql, { open: request.query.state === 'open', kind: request.query.kind, limit: request.query.limit })
    return {
      items: rows.map((row) => {
        const vehicleId = row.vehicleId ?? (row.parcel === null ? null : store.custody.vehicleOf(parcelRef(row.parcel.id)))
        const live = store.vehiclePosition(vehicleId)
        const m = row.lastMilestone
        return {
          ...row,
          ageSeconds: Math.max(0, Math.round(((row.clearedAt?.getTime() ?? now) - row.openedAt.getTime()) / 1000)),
          lastPosition: live !== undefined
            ? { lat: live.lat, lon: live.lon, time: new Date(live.time).toISOString(), source: 'vehicle' }
            : m !== null && m.lat !== null && m.lon !== null ? { lat: m.lat, lon: m.lon, time: m.time.toISOString(), source: 'milestone' } : null
        }
      })
    }
  })
}

export default exceptions
