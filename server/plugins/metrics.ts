import fp from 'fastify-plugin'
import { collectDefaultMetrics, Registry as MetricsRegistry } from 'prom-client'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: MetricsRegistry
  }
}

/** Prometheus metrics at /metrics: process health plus what each plugin registers. */
export default fp(async (app) => {
  const metrics = new MetricsRegistry()
  collectDefaultMetrics({ register: metrics, prefix: 'trackstream_' })
  app.decorate('metrics', metrics)
  app.get('/metrics', {
    // Prometheus scrapes without credentials; it shows counts, never a parcel or a device's data
    config: { access: 'public' },
    schema: {
      tags: ['operations'],
      summary: 'Prometheus metrics',
      response: { 200: { type: 'string' } }
    }
  }, async (_request, reply) => {
    reply.type(metrics.contentType)
    return await metrics.metrics()
  })
}, { name: 'trackstream-metrics' })
