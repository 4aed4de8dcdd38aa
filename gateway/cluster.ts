import type { EventEmitter } from 'node:events'
import { createRequire } from 'node:module'
import aedesPersistenceRedis from 'aedes-persistence-redis'
import mqemitterRedis from 'mqemitter-redis'

/** What is used here of a connection made with a package's own ioredis, whose types differ from ours by a major. */
interface Connection { on: (event: 'error', listener: (error: Error) => void) => unknown, disconnect: () => void }
type RedisClass = new (url: string, options: { connectionName: string, enableOfflineQueue?: boolean }) => Connection
const require = createRequire(import.meta.url)
/** The ioredis each package was released with (each pins its own major), for the connections handed to it. */
const ioredisOf = (name: string): RedisClass => createRequire(require.resolve(name))('ioredis') as RedisClass

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
export function brokerCluster (redisUrl: string, onError: (error: Error) => void, onUndelivered: (error: Error) => void): BrokerCluster {
  const EmitterRedis = ioredisOf('mqemitter-redis')
  const subConn = new EmitterRedis(redisUrl, { connectionName: 'trackstream-mqtt-in' })
  // fails at once while Redis is away, rather than holding every publish for its retries
  const pubConn = new EmitterRedis(redisUrl, { connectionName: 'trackstream-mqtt-out', enableOfflineQueue: false })
  const mq = mqemitterRedis({ subConn: subConn as never, pubConn: pubConn as never })
  // its own close() sends QUIT and waits for both connections to end: on one that is not up (Redis
  // away, or reconnecting) QUIT rejects unheard and 'end' never comes, so aedes, and shutdown, would
  // wait for ever. At shutdown nothing is left to say to Redis: the connections are dropped.
  mq.close = (done?: () => void) => {
    subConn.disconnect()
    pubConn.disconnect()
    done?.()
  }
  // the emitter re-emits connection errors on `state`, and an EventEmitter with no listener throws
  ;(mq as unknown as { state: EventEmitter }).state.on('error', onError)
  // aedes ends the publishing client when the emit fails: a tracker whose fix is already stored
  // and acknowledged must not be thrown off because subscribers elsewhere could not be told
  const emit = mq.emit.bind(mq)
  mq.emit = (message, done) => {
    emit(message, (error?: Error) => {
      if (error !== undefined) onUndelivered(error)
      done?.()
    })
  }
  // our own connection, so its errors are heard and it can be closed: the persistence's destroy()
  // unsubscribes from the emitter first, which never answers once the broker has closed it
  const sessions = new (ioredisOf('aedes-persistence-redis'))(redisUrl, { connectionName: 'trackstream-mqtt-sessions' })
  sessions.on('error', onError)
  return {
    mq,
    persistence: aedesPersistenceRedis({ conn: sessions }),
    close: () => { sessions.disconnect() }
  }
}
