import createError from '@fastify/error'
import type { FastifyPluginAsync } from 'fastify'
import type { WebSocket } from 'ws'
import type { AccessConfig } from '../config.js'
import { selectTimeline } from '../db/queries/timeline.js'
import { isReplacedToken } from '../db/queries/tracking-links.js'
import { Errors } from '../errors.js'
import { sendOrClose } from '../live/bounded-send.js'
import { VanFeed, type VanParcel } from '../live/van-feed.js'
import { PublicViewCache } from '../tracking/public-cache.js'
import { deliveredPoint, destinationPoint, publicMilestones, toPublicTracking, type PublicParcel, type PublicTracking } from '../tracking/public-view.js'
import type { PublicVan } from '../tracking/van-view.js'
import { selectPublicTracking } from '../db/queries/public-tracking.js'
import { linkState, type LinkFacts, type LinkState } from '../tracking/tracking-link.js'
import { LruMap } from '../util/lru.js'
import type { TimelineEntry } from '../model.js'

const publicMilestoneSchema = {
  type: 'object',
  properties: {
    code: { type: 'string' },
    label: { type: 'string' },
    time: { type: 'string', format: 'date-time' },
    location: {
      type: ['object', 'null'],
      properties: { city: { type: ['string', 'null'] }, country: { type: ['string', 'null'] }, timezone: { type: ['string', 'null'] } }
    }
  }
} as const

const pointSchema = {
  type: ['object', 'null'],
  properties: { lat: { type: 'number' }, lon: { type: 'number' } }
} as const

export const publicTrackingSchema = {
  type: 'object',
  properties: {
    trackingNumber: { type: 'string' },
    status: {
      type: ['object', 'null'],
      properties: { code: { type: 'string' }, label: { type: 'string' }, time: { type: 'string', format: 'date-time' } }
    },
    destination: { type: 'object', properties: { city: { type: 'string' }, country: { type: 'string' } } },
    cashOnDelivery: { type: ['object', 'null'], properties: { amount: { type: 'string' }, currency: { type: 'string' } } },
    eta: {
      type: ['object', 'null'],
      description: 'when it should arrive: from the van\'s route while out for delivery ("route"), from how long the rest took on its lane before ("lane")',
      properties: { time: { type: 'string', format: 'date-time' }, basis: { type: 'string', enum: ['route', 'lane'] } }
    },
    milestones: { type: 'array', items: publicMilestoneSchema },
    destinationPoint: { ...pointSchema, description: 'the buyer\'s own address as a point, when the parcel was registered with coordinates, from "out for delivery" on; null before' },
    deliveredAt: { ...pointSchema, description: 'where the driver recorded the delivery' },
    van: {
      type: ['object', 'null'],
      description: 'the van bringing the parcel, only while it is out for delivery on one: the centre of a 0.02° grid cell ("precise": false) until the van is within 3 km of the destination, its own fix ("precise": true) from there; null otherwise',
      properties: {
        lat: { type: 'number' },
        lon: { type: 'number' },
        precise: { type: 'boolean' },
        time: { type: 'string', format: 'date-time', description: 'the fix it comes from' }
      }
    }
  }
} as const

/** The cached view with the ETA and the van of this moment added: both move far more often than a milestone comes. */
function withLive (view: string, eta: PublicTracking['eta'], van: PublicVan | null): string {
  return `${view.slice(0, view.lastIndexOf('}'))},"eta":${JSON.stringify(eta)},"van":${JSON.stringify(van)}}`
}

/** Tracking links read recently, each with what its view shows of the parcel itself, which never changes. */
const LINKS_CACHED = 50_000
/**
 * A remembered link is read again after this long: its parcel's journey may have ended since,
 * which starts its link's TRACKING_LINK_DAYS. Revocation and rotation do not wait for it: every
 * instance hears of those at once (plugins/tracking-links.ts).
 */
const LINK_RECHECK_MS = 5 * 60_000

type GoneState = Exclude<LinkState, 'open'>

/** A link that worked once and no longer does: 410, each reason with its stable code, which the buyer's page words kindly. */
const GONE_CODES: Readonly<Record<GoneState, string>> = { expired: 'TS_LINK_EXPIRED', revoked: 'TS_LINK_REVOKED', replaced: 'TS_LINK_REPLACED' }
const LinkGone: Readonly<Record<GoneState, ReturnType<typeof createError>>> = {
  expired: createError(GONE_CODES.expired, 'this tracking link has expired', 410),
  revoked: createError(GONE_CODES.revoked, 'this tracking link was revoked by its sender', 410),
  replaced: createError(GONE_CODES.replaced, 'this tracking link was replaced by a new one', 410)
}
/** The WebSocket's refusals, as HTTP would say them: 4404 for no such link, 4410 (reason: the code) for one that is gone. */
const WS_UNKNOWN = 4404
const WS_GONE = 4410

const errorSchema = {
  type: 'object',
  properties: { statusCode: { type: 'integer' }, code: { type: 'string' }, error: { type: 'string' }, message: { type: 'string' } }
} as const

const tokenParams = {
  type: 'object',
  required: ['token'],
  properties: { token: { type: 'string', minLength: 16, maxLength: 64 } }
} as const

export type TrackOptions = Pick<AccessConfig, 'trackingPerMinute' | 'trackingLinkDays'>

interface KnownLink extends LinkFacts {
  parcel: PublicParcel
  /** Date.now() when it was read */
  readAt: number
}

type Lookup = { state: 'open', parcel: PublicParcel, timeline?: TimelineEntry[] } | { state: GoneState } | undefined

/**
 * What the buyer's tracking link opens: public, keyed only by the unguessable token, limited per
 * client address (TRACKING_RATE_PER_MINUTE, counted before anything is looked up), and only while
 * the link works (tracking/tracking-link.ts). Needs plugins/tracking-links.ts registered before it.
 */
const track: FastifyPluginAsync<TrackOptions> = async (app, { trackingPerMinute, trackingLinkDays }) => {
  const { engine, hub, trackingLinks } = app
  const { store } = engine
  const vans = new VanFeed(app.bus, store)
  let links = new LruMap<string, KnownLink>(LINKS_CACHED)
  /** Link news heard so far: a link read while some came in may be one that just stopped. */
  let heard = 0
  /** The buyers' sockets by their token, to close when it stops working. */
  const watchers = new Map<string, Set<WebSocket>>()
  const stopHearing = trackingLinks.subscribe((news) => {
    heard++
    if (news === null) {
      links = new LruMap<string, KnownLink>(LINKS_CACHED)
      return
    }
    links.delete(news.token)
    for (const socket of watchers.get(news.token) ?? []) socket.close(WS_GONE, GONE_CODES[news.reason])
  })
  const opened = (link: KnownLink, timeline?: TimelineEntry[]): Lookup => {
    const state = linkState(link, app.now(), trackingLinkDays)
    return state === 'open' ? { state, parcel: link.parcel, ...(timeline === undefined ? {} : { timeline }) } : { state }
  }

  /**
   * By the link's token: the parcel from memory if its link was opened recently (and news of every
   * instance is arriving), else with its timeline from the database in one round trip; delivered
   * parcels are found alike. Whether the link still works is judged now, on every read.
   */
  const find = async (token: string): Promise<Lookup> => {
    if (trackingLinks.listening) {
      const cached = links.get(token)
      if (cached !== undefined && Date.now() - cached.readAt < LINK_RECHECK_MS) return opened(cached)
    }
    const before = heard
    const found = await selectPublicTracking(app.db.sql, token)
    // a token no parcel has now: one a rotation replaced says so; anything else is unknown
    if (found === undefined) return await isReplacedToken(app.db.sql, token) ? { state: 'replaced' } : undefined
    const link: KnownLink = { ...found.link, parcel: found.parcel, readAt: Date.now() }
    if (trackingLinks.listening && heard === before) links.set(token, link)
    return opened(link, found.timeline)
  }
  const vanParcel = (parcel: PublicParcel): VanParcel => ({ id: parcel.id, destination: destinationPoint(parcel) })
  const snapshot = async (parcel: PublicParcel, timeline?: TimelineEntry[]) =>
    toPublicTracking(parcel, timeline ?? await selectTimeline(app.db.sql, parcel.id), store.parcels.get(parcel.id)?.track.recent)
  /** Only a parcel on its way has an ETA: from its van's route, or from its lane. */
  const etaOf = (parcel: PublicParcel): PublicTracking['eta'] => {
    const active = store.parcels.get(parcel.id)
    const eta = active === undefined ? undefined : engine.etas.etaOf(active, app.now())
    return eta === undefined ? null : { time: new Date(eta.eta).toISOString(), basis: eta.basis }
  }
  const cache = new PublicViewCache()
  // a committed milestone changes what the buyer sees; on every instance, since it comes over the bus
  const unsubscribe = app.bus.subscribe((event) => {
    if (event.kind === 'milestones') for (const milestone of event.milestones) cache.forget(milestone.parcelId)
  })
  app.addHook('onClose', async () => {
    unsubscribe()
    stopHearing()
    vans.close()
  })
  // a link's answer changes when it is revoked or rotated, and browsers keep a 410 (and a 404) by
  // default: none of these answers, refusals included, may be reused
  app.addHook('onSend', async (_request, reply) => { void reply.header('cache-control', 'no-store') })
  // per client address (request.ip: behind a proxy, TRUST_PROXY decides whose it is); a client
  // over it is answered from memory, before any lookup, so it slows nobody else down. 0: no limit
  const access = trackingPerMinute > 0
    ? { access: 'public' as const, rateLimit: { max: trackingPerMinute, timeWindow: 60_000 } }
    : { access: 'public' as const }

  app.get<{ Params: { token: string } }>('/api/track/:token', {
    config: access,
    schema: {
      tags: ['public tracking'],
      summary: 'A parcel\'s journey as its buyer sees it',
      description: 'While its link works: a link stops TRACKING_LINK_DAYS after the journey ended (410 TS_LINK_EXPIRED), when its sender revokes it (410 TS_LINK_REVOKED) or replaces it with a new one (410 TS_LINK_REPLACED). At most TRACKING_RATE_PER_MINUTE requests per client address per minute (429).',
      params: tokenParams,
      response: {
        200: publicTrackingSchema,
        404: { ...errorSchema, description: 'no parcel has this link' },
        410: { ...errorSchema, description: 'the link worked once and no longer does: code TS_LINK_EXPIRED, TS_LINK_REVOKED or TS_LINK_REPLACED' }
      }
    }
  }, async (request, reply) => {
    const found = await find(request.params.token)
    if (found === undefined) throw new Errors.NotFound('tracking link', request.params.token)
    if (found.state !== 'open') throw new LinkGone[found.state]()
    const { parcel } = found
    // a timeline read with the link is served as read, never cached: a milestone may have
    // committed since, and the cache only knows to drop views read after it
    const view = found.timeline !== undefined
      ? JSON.stringify(await snapshot(parcel, found.timeline))
      : await cache.get(parcel.id, async () => JSON.stringify(await snapshot(parcel)))
    return await reply.type('application/json; charset=utf-8').send(withLive(view, etaOf(parcel), vans.current(vanParcel(parcel))))
  })

  app.get<{ Params: { token: string } }>('/ws/track/:token', {
    config: access,
    websocket: true,
    schema: {
      tags: ['public tracking'],
      summary: 'WebSocket, closed with 4404 for an unknown link and 4410 (the reason: TS_LINK_EXPIRED, TS_LINK_REVOKED or TS_LINK_REPLACED) for one that no longer works, at once when it is revoked or replaced: a snapshot, then each new milestone of the parcel as it is recorded ({"type":"milestones"}), its ETA whenever it moves by more than ETA_PUSH_THRESHOLD_MS ({"type":"eta"}), the van whenever it changes on the buyer\'s map ({"type":"van","van":{…}|null,"destinationPoint":{…}|null}) and where it was delivered ({"type":"deliveredAt","deliveredAt":{"lat","lon"},"destinationPoint":{…}|null})',
      params: tokenParams
    }
  }, async (socket, request) => {
    const { token } = request.params
    // watched from before the lookup: a link stopped meanwhile closes this socket too
    const sockets = watchers.get(token) ?? new Set<WebSocket>()
    sockets.add(socket)
    watchers.set(token, sockets)
    socket.on('close', () => {
      sockets.delete(socket)
      if (sockets.size === 0 && watchers.get(token) === sockets) watchers.delete(token)
    })
    let found: Lookup
    try {
      found = await find(token)
    } catch (error) {
      request.log.warn({ err: error }, 'could not look up the tracking link')
      socket.close(1011, 'try again')
      return
    }
    if (found === undefined) {
      socket.close(WS_UNKNOWN, 'unknown tracking link')
      return
    }
    if (found.state !== 'open') {
      socket.close(WS_GONE, GONE_CODES[found.state])
      return
    }
    const { parcel } = found
    // the buyer may have gone while the link was looked up: nothing to watch for them
    if (socket.readyState !== socket.OPEN) return
    const destination = destinationPoint(parcel)
    const stop = hub.watchParcel(parcel.id, (rows) => {
      const milestones = publicMilestones(rows.map((row) => ({
        code: row.code,
        time: new Date(row.time),
        station: row.stationId === null ? null : store.config.station(row.stationId) ?? null
      })))
      if (milestones.length > 0) sendOrClose(socket, JSON.stringify({ type: 'milestones', milestones }))
      const deliveredAt = deliveredPoint(rows)
      if (deliveredAt !== null) sendOrClose(socket, JSON.stringify({ type: 'deliveredAt', deliveredAt, destinationPoint: destination }))
    }, ({ eta, basis }) => {
      sendOrClose(socket, JSON.stringify({ type: 'eta', eta: { time: new Date(eta).toISOString(), basis } }))
    })
    let stopVan = (): void => {}
    socket.on('close', () => {
      stop()
      stopVan()
    })
    // subscribe first, then read: a milestone committed in between arrives twice, never zero times
    try {
      const tracking = await snapshot(parcel)
      if (socket.readyState !== socket.OPEN) return
      // the van is read from memory, so watching it from the moment it is read leaves no gap; each
      // van comes with the buyer's own point, which the page may not have had before that day
      const van = vans.watch(vanParcel(parcel), (next) => {
        sendOrClose(socket, JSON.stringify({ type: 'van', van: next, destinationPoint: next === null ? null : destination }))
      })
      stopVan = van.stop
      socket.send(JSON.stringify({ type: 'snapshot', tracking: { ...tracking, eta: etaOf(parcel), van: van.van } }))
    } catch (error) {
      request.log.warn({ err: error }, 'could not send the tracking snapshot')
      socket.close(1011, 'try again')
    }
  })
}

export default track
