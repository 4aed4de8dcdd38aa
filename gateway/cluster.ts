import type { EventEmitter } from 'node:events'
import { createRequire } from 'node:module'
import aedesPersistenceRedis from 'aedes-persistence-redis'
import type { Redis } from 'ioredis'
import mqemitterRedis from 'mqemitter-redis'

const require = createRequire(import.meta.url)
/** The ioredis aedes-persistence-redis was released with (it pins its own major), for the connection handed to it. */
const SessionRedis = createRequire(require.resolve('aedes-persistence-redis'))('ioredis') as new (url: string, options: { connectionName: string }) => Redis

/** What the embedded brokers of several instances share through one Redis. */
export interface BrokerCluster {
  persistence: ReturnType<typeof aedesPersistenceRedis>
  mq: ReturnType<typeof mqemitterRedis>
  /** After the broker has closed; aedes closes the emitter itself. */
  close: () => void
}

/**
 * The aedes authors' own Redis packages: mqemitter-redis carries each publish to the subscribers
 * on every instance (a command to a device connected elsewhere), aedes-persistence-redis keeps
 * subscriptions, retained messages and QoS 1 sessions where any instance finds them, so a device
 * that reconnects to another instance resumes its session there.
 */
export function brokerCluster (redisUrl: string, onError: (error: Error) => void): BrokerCluster {
  const mq = mqemitterRedis({ connectionString: redisUrl })
  // the emitter re-emits connection errors on `state`, and an EventEmitter with no listener throws
  ;(mq as unknown as { state: EventEmitter }).state.on('error', onError)
  // our own connection, so its errors are heard and it can be closed: the persistence's destroy()
  // unsubscribes from the emitter first, which never answers once the broker has closed it
  const sessions = new SessionRedis(redisUrl, { connectionName: 'trackstream-mqtt-sessions' })
  sessions.on('error', onError)
  return {
    mq,
    persistence: aedesPersistenceRedis({ conn: sessions }),
    close: () => { sessions.disconnect() }
  }
}
