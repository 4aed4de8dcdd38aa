import fp from 'fastify-plugin'
import { insertVisits } from '../db/queries/rfid-visits.js'

/**
 * Stores each finished visit of a tag at a reader as one row, off the hot path: visits are derived
 * from reads that are already durable, so a crash loses at most the visits not yet stored.
 */
export default fp(async (app) => {
  const { engine } = app
  const flush = async (): Promise<void> => {
    const rows = engine.endVisits(app.now())
    if (rows.length === 0) return
    try {
      await insertVisits(app.db.sql, rows)
    } catch (error) {
      engine.requeueVisits(rows)
      app.log.debug({ reason: (error as Error).message }, 'could not store RFID visits; will retry')
    }
  }
  const timer = setInterval(() => { void flush() }, Math.max(500, engine.store.visits.windowMs)).unref()
  app.decorate('flushVisits', flush)
  app.addHook('onClose', async () => { clearInterval(timer) })
}, { name: 'trackstream-rfid-visits', dependencies: ['trackstream-engine', 'trackstream-db'] })

declare module 'fastify' {
  interface FastifyInstance {
    /** Stores the visits that have ended; the timer does it every RFID_WINDOW_MS. */
    flushVisits: () => Promise<void>
  }
}
