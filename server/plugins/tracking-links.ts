import fp from 'fastify-plugin'
import pg from 'pg'
import { TRACKING_LINK_CHANNEL } from '../db/queries/tracking-links.js'
import type { LinkRetirement } from '../tracking/tracking-link.js'

/** A token that stopped working, or null: forget every link known, news may have been missed. */
export type LinkNews = { token: string, reason: LinkRetirement } | null

export interface TrackingLinkNews {
  /**
   * Whether news from every instance is arriving now. While it is not, a token's parcel must not be
   * served from memory: a rotation elsewhere could not be heard.
   */
  readonly listening: boolean
  /** Hears each token retired here or on another instance, and null after a gap in listening. */
  subscribe: (listener: (news: LinkNews) => void) => () => void
  /** A token stopped working here, committed: this instance hears it now, the others through PostgreSQL. */
  retired: (token: string, reason: LinkRetirement) => void
}

declare module 'fastify' {
  interface FastifyInstance {
    trackingLinks: TrackingLinkNews
  }
}

const RELISTEN_MS = 1000

export function parseLinkNews (payload: string): { token: string, reason: LinkRetirement } | undefined {
  const [reason, token, ...rest] = payload.split(' ')
  if ((reason !== 'revoked' && reason !== 'replaced') || token === undefined || token === '' || rest.length > 0) return undefined
  return { token, reason }
}

/**
 * Tells every instance on the database that a tracking link stopped working (revoked, rotated), so
 * none serves it from memory: PostgreSQL LISTEN on the channel the retiring statement NOTIFYs
 * (db/queries/tracking-links.ts), like plugins/config-sync.ts, with no Redis needed. Its own
 * connection, outside the pool, which stays whole for queries.
 */
export default fp(async (app) => {
  const listeners = new Set<(news: LinkNews) => void>()
  let listening = false
  let closing = false
  let client: pg.Client | undefined
  let timer: NodeJS.Timeout | undefined

  const tell = (news: LinkNews): void => {
    for (const listener of listeners) {
      try {
        listener(news)
      } catch (error) {
        app.log.error({ err: error }, 'a tracking link listener failed')
      }
    }
  }

  const again = (): void => {
    if (closing || timer !== undefined) return
    // jittered, so that instances that lost the database together do not all come back at once
    timer = setTimeout(() => { timer = undefined; void listen() }, RELISTEN_MS * (0.5 + Math.random()))
    timer.unref()
  }

  const lost = (lostClient: pg.Client): void => {
    if (client !== lostClient) return
    client = undefined
    listening = false
    tell(null)
    lostClient.end().catch(() => {})
    again()
  }

  const listen = async (): Promise<void> => {
    if (closing) return
    const next = new pg.Client(app.db.pool.options)
    client = next
    next.on('error', (error) => {
      app.log.warn({ reason: error.message }, 'lost the tracking link news connection; listening again')
      lost(next)
    })
    next.on('end', () => { lost(next) })
    next.on('notification', (message) => {
      const news = parseLinkNews(message.payload ?? '')
      if (news !== undefined) tell(news)
    })
    try {
      await next.connect()
      await next.query(`LISTEN ${TRACKING_LINK_CHANNEL}`)
      if (client !== next) return
      listening = true
      // whatever changed while nobody listened (at start, or while the connection was down)
      tell(null)
    } catch (error) {
      app.log.warn({ reason: (error as Error).message }, 'could not listen for tracking link changes; trying again')
      lost(next)
    }
  }

  app.decorate('trackingLinks', {
    get listening () { return listening },
    subscribe: (listener) => {
      listeners.add(listener)
      return () => { listeners.delete(listener) }
    },
    retired: (token, reason) => { tell({ token, reason }) }
  } satisfies TrackingLinkNews)

  app.addHook('onReady', listen)
  app.addHook('preClose', async () => {
    closing = true
    clearTimeout(timer)
    listening = false
    const last = client
    client = undefined
    // a database that is away would keep end() waiting: closing does not wait for it long
    await Promise.race([last?.end().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 1000).unref())])
  })
}, { name: 'trackstream-tracking-links', dependencies: ['trackstream-db'] })
