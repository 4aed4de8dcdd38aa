import type { Redis } from 'ioredis'
import { LocalBus, type LiveBus, type LiveEvent } from './bus.js'

export interface RedisBusOptions {
  /** Publishes; set with enableOfflineQueue false, so frames are dropped, not piled up, while Redis is away. */
  publisher: Redis
  /** In subscriber mode once started; ioredis subscribes again after a reconnect. */
  subscriber: Redis
  channel: string
  /** This instance, so it does not hear its own frames twice. */
  self: string
  onListenerError: (error: unknown, event: LiveEvent) => void
  /** A frame not sent to the other instances (Redis away) or not understood from them. */
  onLost: (direction: 'out' | 'in', reason: string) => void
}

/**
 * The live bus across instances: every event goes to this instance's viewers at once and, through
 * one Redis pub/sub channel, to every other instance's. Live frames are a view: what Redis drops
 * during an outage is still in the database, and the viewers' next frame brings them up to date.
 */
export class RedisBus implements LiveBus {
  private readonly local: LocalBus

  constructor (private readonly options: RedisBusOptions) {
    this.local = new LocalBus(options.onListenerError)
  }

  async start (): Promise<void> {
    const { subscriber, channel, self, onLost } = this.options
    subscriber.on('message', (from: string, message: string) => {
      if (from !== channel) return
      const split = message.indexOf(' ')
      if (message.slice(0, split) === self) return
      let event: LiveEvent
      try {
        event = JSON.parse(message.slice(split + 1)) as LiveEvent
      } catch (error) {
        onLost('in', (error as Error).message)
        return
      }
      this.local.publish(event)
    })
    await subscriber.subscribe(channel)
  }

  publish (event: LiveEvent): void {
    this.local.publish(event)
    const { publisher, channel, self, onLost } = this.options
    publisher.publish(channel, `${self} ${JSON.stringify(event)}`).catch((error: unknown) => {
      onLost('out', (error as Error).message)
    })
  }

  subscribe (listener: (event: LiveEvent) => void): () => void {
    return this.local.subscribe(listener)
  }
}
