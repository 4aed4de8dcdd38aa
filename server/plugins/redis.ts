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
  await reachable(url)
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
      // QUIT only where it can be sent: on a connection that is down it would wait for Redis
      if (connection.status !== 'ready') {
        connection.disconnect()
        return
      }
      try {
        await connection.quit()
      } catch {
        connection.disconnect()
      }
    }))
  })
}, { name: 'trackstream-redis' })

/** At start, a Redis that is not there is a setting to fix, said in one line; later, an outage to ride out. */
export class RedisUnreachableError extends Error {}

async function reachable (url: string): Promise<void> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 5000 })
  // the socket's own error says why (refused, unknown host); connect() rejects only with "closed"
  let cause: Error | undefined
  probe.on('error', (error: Error) => { cause ??= error })
  try {
    await probe.connect()
    await probe.ping()
  } catch (error) {
    const shown = new URL(url)
    if (shown.password !== '') shown.password = '***'
    throw new RedisUnreachableError(`cannot reach Redis at ${shown.toString()} (REDIS_URL): ${(cause ?? error as Error).message}`)
  } finally {
    probe.disconnect()
  }
}
