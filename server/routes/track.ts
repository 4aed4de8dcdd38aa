import type { FastifyPluginAsync } from 'fastify'
import { selectTimeline } from '../db/queries/timeline.js'
import { Errors } from '../errors.js'
import { sendOrClose } from '../live/bounded-send.js'
import { VanFeed, type VanParcel } from '../live/van-feed.js'
import { PublicViewCache } from '../tracking/public-cache.js'
import { deliveredPoint, destinationPoint, publicMilestones, toPublicTracking, type PublicParcel, type PublicTracking } from '../tracking/public-view.js'
import type { PublicVan } from '../tracking/van-view.js'
import { selectPublicTracking } from '../db/queries/public-tracking.js'
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

const tokenParams = {
  type: 'object',
  required: ['token'],
  properties: { token: { type: 'string', minLength: 16, maxLength: 64 } }
} as const

/** What the buyer's tracking link opens: public, keyed only by the unguessable token. */
const track: FastifyPluginAsync = async (app) => {
  const { engine, hub } = app
  const { store } = engine
  const vans = new VanFeed(app.bus, store)
  const links = new LruMap<string, PublicParcel>(LINKS_CACHED)

  /**
   * By the link's token: the parcel from memory if its link was opened recently, else with its
   * timeline from the database in one round trip; delivered parcels are found alike.
   */
  const find = async (token: string): Promise<{ parcel: PublicParcel, timeline?: TimelineEntry[] } | undefined> => {
    const cached = links.get(token)
    if (cached !== undefined) return { parcel: cached }
    const found = await selectPublicTracking(app.db.sql, token)
    if (found !== undefined) links.set(token, found.parcel)
    return found
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
    vans.close()
  })

  app.get<{ Params: { token: string } }>('/api/track/:token', {
    schema: {
      tags: ['public tracking'],
      summary: 'A parcel\'s journey as its buyer sees it',
      params: tokenParams,
      response: { 200: publicTrackingSchema }
    }
  }, async (request, reply) => {
    const found = await find(request.params.token)
    if (found === undefined) throw new Errors.NotFound('tracking link', request.params.token)
    const { parcel } = found
    // a timeline read with the link is served as read, never cached: a milestone may have
    // committed since, and the cache only knows to drop views read after it
    const view = found.timeline !== undefined
      ? JSON.stringify(await snapshot(parcel, found.timeline))
      : await cache.get(parcel.id, async () => JSON.stringify(await snapshot(parcel)))
    return await reply.type('application/json; charset=utf-8').send(withLive(view, etaOf(parcel), vans.current(vanParcel(parcel))))
  })

  app.get<{ Params: { token: string } }>('/ws/track/:token', {
    websocket: true,
    schema: {
      tags: ['public tracking'],
      summary: 'WebSocket: a snapshot, then each new milestone of the parcel as it is recorded ({"type":"milestones"}), its ETA whenever it moves by more than ETA_PUSH_THRESHOLD_MS ({"type":"eta"}), the van whenever it changes on the buyer\'s map ({"type":"van","van":{…}|null,"destinationPoint":{…}|null}) and where it was delivered ({"type":"deliveredAt","deliveredAt":{"lat","lon"},"destinationPoint":{…}|null})',
      params: tokenParams
    }
  }, async (socket, request) => {
    let parcel: PublicParcel | undefined
    try {
      parcel = (await find(request.params.token))?.parcel
    } catch (error) {
      request.log.warn({ err: error }, 'could not look up the tracking link')
      socket.close(1011, 'try again')
      return
    }
    if (parcel === undefined) {
      socket.close(4404, 'unknown tracking link')
      return
    }
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
