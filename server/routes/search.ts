import type { FastifyPluginAsync } from 'fastify'
import { searchParcels } from '../db/queries/search-parcels.js'
import { containerRef, parcelRef, type ItemRef } from '../tracking/custody.js'
import { PrefixIndex, search, type Match, type Subject } from '../tracking/search.js'
import { ops } from './schemas.js'

const resultSchema = {
  type: 'object',
  properties: {
    kind: { type: 'string', enum: ['parcel', 'vehicle', 'device', 'container'] },
    id: { type: 'string' },
    label: { type: 'string' },
    detail: { type: 'string' },
    position: {
      type: ['object', 'null'],
      description: 'where to look on the map: a parcel or container is where its vehicle is; null when nothing places it',
      properties: { lat: { type: 'number' }, lon: { type: 'number' } }
    }
  }
} as const

/** The ops search box: one field for tracking numbers, EPCs, SSCCs, vehicles, plates and devices. */
const searchRoutes: FastifyPluginAsync = async (app) => {
  const { store } = app.engine
  const { config, custody } = store

  /** Vehicles, containers and devices: the configuration, which the engine holds whole, indexed by key until it changes. */
  function * configured (): Generator<Subject> {
    for (const record of config.vehicles()) yield { kind: 'vehicle', record }
    for (const record of config.containers()) yield { kind: 'container', record }
    for (const record of config.devices()) yield { kind: 'device', record }
  }
  let index = { version: -1, keys: new PrefixIndex([]) }
  const configuredMatching = (needle: string): Subject[] => {
    if (index.version !== config.version) index = { version: config.version, keys: new PrefixIndex(configured()) }
    return index.keys.candidates(needle)
  }

  /** An item is where the vehicle it rides is, as GET /api/parcels/{id} says; one source of positions for all four kinds, so a parcel and its van always agree. */
  const whereItemIs = (item: ItemRef) => store.vehiclePosition(custody.vehicleOf(item))

  const positionOf = ({ subject }: Match): { lat: number, lon: number } | null => {
    const position = (() => {
      switch (subject.kind) {
        case 'parcel': return whereItemIs(parcelRef(subject.record.id))
        case 'container': return whereItemIs(containerRef(subject.record.id))
        case 'vehicle': return store.vehiclePosition(subject.record.id)
        case 'device': return store.devices.positionOf(subject.record.id)
      }
    })()
    return position === undefined ? null : { lat: position.lat, lon: position.lon }
  }

  app.get<{ Querystring: { q: string, limit: number } }>('/api/search', {
    config: { access: 'parcels:read' },
    schema: {
      tags: ['parcels'],
      summary: 'Find parcels (tracking number, EPC, SSCC), vehicles (id, name, plate), devices (id, name) and containers (id, EPC, SSCC)',
      description: 'Case-insensitive. Exact matches come first, then prefix matches; within each, parcels, vehicles, containers, devices, the closest completion first. Parcels, however many, are found through database indexes.',
      ...ops,
      querystring: {
        type: 'object',
        required: ['q'],
        properties: {
          q: { type: 'string', minLength: 1, maxLength: 100, pattern: '\\S', description: 'what was typed' },
          limit: { type: 'integer', minimum: 1, maximum: 50, default: 20 }
        }
      },
      response: { 200: { type: 'object', properties: { items: { type: 'array', items: resultSchema } } } }
    }
  }, async (request) => {
    const { q, limit } = request.query
    const needle = q.trim().toLowerCase()
    const parcels = await searchParcels(app.db.sql, needle, limit, request.principal?.merchantId ?? null)
    // vehicles, containers and devices are the fleet's: not a merchant's or a finance clerk's to find
    const fleet = request.principal?.permissions.has('fleet:read') === true ? configuredMatching(needle) : []
    const subjects = [...parcels.map((record): Subject => ({ kind: 'parcel', record })), ...fleet]
    return {
      items: search(subjects, q, limit).map((match) => ({
        kind: match.kind,
        id: match.id,
        label: match.label,
        detail: match.detail,
        position: positionOf(match)
      }))
    }
  })
}

export default searchRoutes
