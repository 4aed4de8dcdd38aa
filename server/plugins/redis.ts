import fp from 'fastify-plugin'
import { Redis, type RedisOptions } from 'ioredis'
import { RecurringProblem } from '../util/recurring-problem.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Cluster mode (REDIS_URL set): named connections to the one Redis all instances share; null without it. */
    redis: RedisConnections | null
  }
}

export interface RedisConnections {
  url: string
  /** A new connection, closed with the app; its outages are logged once each, never thrown. */
  connect: (name: string, options?: RedisOptions) => Redis
}

export interface RedisPluginOptions {
  url: string | undefined
}

/**
 * Redis carries what instances must share as it happens: the brokers' subscriptions, retained
 * messages and sessions (gateway/cluster.ts) and the live frames (live/redis-bus.ts). It holds no
 * record of its own: PostgreSQL is the truth, so a Redis outage pauses live frames between
 * instances, never ingest or history.
 */
export default fp<RedisPluginOptions>(async (app, { url }) => {
  if (url === undefined) {
    app.decorate('redis', null)
    return
  }
  const opened: Redis[] = []
  app.decorate('redis', {
    url,
    connect: (name, options = {}) => {
      const problem = new RecurringProblem(app.log, `Redis connection ${name}`)
      const connection = new Redis(url, { connectionName: `trackstream-${name}`, ...options })
      connection.on('error', (error: Error) => { problem.failed(error) })
      connection.on('ready', () => { problem.succeeded() })
      opened.push(connection)
      return connection
    }
  })
  app.addHook('onClose', async () => {
    await Promise.all(opened.map(async (connection) => {
      try {
        await connection.quit()
      } catch {
        connection.disconnect()
      }
    }))
  })
}, { name: 'trackstream-redis' })
