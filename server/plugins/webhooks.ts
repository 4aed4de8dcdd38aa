import fp from 'fastify-plugin'
import { Dispatcher } from '../webhooks/dispatcher.js'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * The webhook dispatcher: wake() runs a round now (after a ping or a retry was queued);
     * allowPrivate is WEBHOOK_ALLOW_PRIVATE, for the routes' check of a subscription's URL.
     */
    webhooks: Pick<Dispatcher, 'wake'> & { readonly allowPrivate: boolean }
  }
}

export interface WebhooksPluginOptions {
  pollMs: number
  timeoutMs: number
  retryBaseMs: number
  concurrency: number
  /** WEBHOOK_ALLOW_PRIVATE: receivers on loopback and private networks are allowed. */
  allowPrivate: boolean
}

/**
 * Delivers the webhook outbox (server/webhooks/dispatcher.ts). It polls, and a milestone committed
 * on this instance wakes it at once; events recorded by another instance wait at most one poll.
 * Starts when the server is ready; stops on close, before the database pool is closed.
 */
export default fp<WebhooksPluginOptions>(async (app, { pollMs, timeoutMs, retryBaseMs, concurrency, allowPrivate }) => {
  const dispatcher = new Dispatcher({ sql: app.db.sql, now: app.now, log: app.log, pollMs, timeoutMs, retryBaseMs, concurrency, allowPrivate })
  const unsubscribe = app.events.on('committed', () => { dispatcher.wake() })
  app.decorate('webhooks', { wake: () => { dispatcher.wake() }, allowPrivate })
  app.addHook('onReady', async () => { dispatcher.start() })
  app.addHook('onClose', async () => {
    unsubscribe()
    await dispatcher.stop()
  })
}, { name: 'trackstream-webhooks', dependencies: ['trackstream-db', 'trackstream-pipeline'] })
