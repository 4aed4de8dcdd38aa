import type { FastifyPluginAsync } from 'fastify'
import { selectReaders, upsertReader } from '../db/queries/readers.js'
import { Errors } from '../errors.js'
import type { ScanMilestoneCode } from '../tracking/milestones.js'
import { dateTime, idParams, idSchema, listOf, nullableString, ops, scanMilestoneCode } from './schemas.js'

const readerSchema = {
  type: 'object',
  properties: {
    deviceId: { type: 'string' },
    stationId: { type: 'string' },
    milestone: { type: 'string' },
    name: nullableString,
    createdAt: dateTime
  }
} as const

interface ReaderBody {
  stationId: string
  milestone: ScanMilestoneCode
  name?: string
}

const readers: FastifyPluginAsync = async (app) => {
  const { registry } = app
  app.addHook('onRequest', app.requireOps)

  app.put<{ Params: { id: string }, Body: ReaderBody }>('/api/readers/:id', {
    schema: {
      tags: ['places'],
      summary: 'Place an RFID reader (a registered device of kind reader) at a station, and say what its scans mean',
      description: 'A parcel whose tag this reader scans gets the milestone given here, at the station\'s location. Placing it again moves it.',
      ...ops,
      params: idParams,
      body: {
        type: 'object',
        required: ['stationId', 'milestone'],
        additionalProperties: false,
        properties: { stationId: idSchema, milestone: scanMilestoneCode, name: { type: 'string', maxLength: 200 } }
      },
      response: { 200: readerSchema }
    }
  }, async (request) => {
    const deviceId = request.params.id
    const device = registry.devices.get(deviceId)
    if (device === undefined) throw new Errors.UnknownReference('device', deviceId)
    if (device.kind !== 'reader') throw new Errors.WrongKind(deviceId, 'reader')
    if (!registry.stations.has(request.body.stationId)) throw new Errors.UnknownReference('station', request.body.stationId)
    const reader = await upsertReader(app.db.sql, { deviceId, ...request.body, name: request.body.name ?? null })
    registry.putReader(reader)
    return reader
  })

  app.get('/api/readers', {
    schema: { tags: ['places'], summary: 'All readers and what their scans mean', ...ops, response: { 200: listOf(readerSchema) } }
  }, async () => ({ items: await selectReaders(app.db.sql) }))
}

export default readers
