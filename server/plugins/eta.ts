import fp from 'fastify-plugin'
import type { ParcelEta } from '../model.js'
import { RecurringProblem } from '../util/recurring-problem.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Recomputes the route ETAs of the vans out for delivery now; the timer does it every ETA_SWEEP_MS. */
    sweepEtas: () => Promise<void>
  }
}

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

  const sweep = async (): Promise<void> => { publish(engine.etas.sweepRoutes(app.now())) }
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
