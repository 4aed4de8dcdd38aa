import type { FastifyPluginAsync } from 'fastify'

const statusSchema = {
  type: 'object',
  properties: {
    status: { type: 'string' },
    database: { type: 'string' },
    broker: { type: 'string' }
  }
} as const

const health: FastifyPluginAsync = async (app) => {
  app.get('/healthz', {
    config: { access: 'public' },
    schema: { tags: ['operations'], summary: 'Liveness: the process is up and serving', response: { 200: statusSchema } }
  }, async () => ({ status: 'ok' }))

  app.get('/readyz', {
    config: { access: 'public' },
    schema: {
      tags: ['operations'],
      summary: 'Readiness: the database answers (within a second) and the MQTT broker accepts devices (in external broker mode: trackstream is subscribed to it)',
      description: 'database is "down" while a ping gets no answer within 800 ms, or while commits are held up retrying a lost connection; the answer never waits longer than that.',
      response: { 200: statusSchema, 503: statusSchema }
    }
  }, async (_request, reply) => {
    const database = !app.commits.holding && await app.db.ping() ? 'up' : 'down'
    // external broker mode: subscribed to it; otherwise the embedded broker listening
    const broker = (app.upstream?.ready ?? app.gateway.accepting) ? 'up' : 'down'
    const ready = database === 'up' && broker === 'up'
    return await reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', database, broker })
  })
}

export default health
