import fp from 'fastify-plugin'
import type { ParcelEta } from '../model.js'
import { RecurringProblem } from '../util/recurring-problem.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Recomputes the route ETAs of the vans out for delivery now; the timer does it every ETA_SWEEP_MS. */
    sweepEtas: () => Promise<void>
  }
}

/**
 * Vans whose routes one step of a sweep recomputes (about 350 ms for all of 5,000 vans with 10
 * parcels each): some 3 ms, so the acknowledgements waiting on the event loop wait little.
 */
const VANS_PER_STEP = 50

export interface EtaPluginOptions {
  sweepMs: number
}

/**
 * Tells buyers when their parcel should arrive (engine/etas.ts): a sweep recomputes the route ETA
 * of each parcel on a van out for delivery (the vans carrying parcels, never every parcel), and a
 * committed milestone gives its parcel a new lane ETA. Each goes on the bus, to the buyer's live
 * channel, when it is news.
 */
export default fp<EtaPluginOptions>(async (app, options) => {
  const { engine } = app
  const publish = (etas: ParcelEta[]): void => { if (etas.length > 0) app.bus.publish({ kind: 'etas', etas }) }

  const unsubscribe = app.events.on('committed', (milestones) => {
    const now = app.now()
    const told = new Set<string>()
    const etas: ParcelEta[] = []
    for (const { parcelId } of milestones) {
      if (told.has(parcelId)) continue
      told.add(parcelId)
      const parcel = engine.store.parcels.get(parcelId)
      const eta = parcel === undefined ? undefined : engine.etas.onMilestone(parcel, now)
      if (eta !== undefined) etas.push(eta)
    }
    publish(etas)
  })

  const sweepOnce = async (): Promise<void> => {
    const now = app.now()
    const routes = engine.etas.beginSweep()
    // a few hundred vans at a time, the event loop free between them for acknowledgements
    while (!routes.done) {
      publish(routes.step(now, VANS_PER_STEP))
      await new Promise((resolve) => setImmediate(resolve))
    }
    publish(routes.finish(now))
  }
  // one sweep at a time: a call made during one runs after it
  let last: Promise<void> = Promise.resolve()
  const sweep = async (): Promise<void> => {
    last = last.catch(() => {}).then(sweepOnce)
    await last
  }
  const problem = new RecurringProblem(app.log, 'ETA sweep')
  const timer = setInterval(() => {
    sweep().then(() => { problem.succeeded() }, (error: unknown) => { problem.failed(error) })
  }, options.sweepMs).unref()
  app.decorate('sweepEtas', sweep)
  app.addHook('onClose', async () => {
    clearInterval(timer)
    unsubscribe()
  })
}, { name: 'trackstream-eta', dependencies: ['trackstream-engine', 'trackstream-pipeline'] })
