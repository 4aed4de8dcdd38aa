import fp from 'fastify-plugin'
import { clearExceptions, openExceptions } from '../db/queries/exceptions.js'
import { emptyWriteSet } from '../model.js'
import { RecurringProblem } from '../util/recurring-problem.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Runs one pass of the exception rules now; the timer runs it every EXCEPTION_SWEEP_MS. */
    sweepExceptions: () => Promise<void>
  }
}

export interface ExceptionsPluginOptions {
  sweepMs: number
}

/** Parcels one step of a pass looks at, between which the event loop is given back (a few ms each). */
const CHUNK = 500

/**
 * Stalled, suspected-lost and customs-dwell parcels and silent vehicles (engine/exceptions.ts):
 * raised when they start to hold, with the parcel's milestone (so merchants' webhooks and the ops
 * feed hear of it), and cleared as soon as they no longer do. A pass looks only at the parcels
 * that are due or changed, in chunks, committing each before planning the next.
 */
export default fp<ExceptionsPluginOptions>(async (app, options) => {
  const { engine } = app
  let running = false
  const problem = new RecurringProblem(app.log, 'exception sweep')

  const step = async (now: number): Promise<boolean> => {
    const plan = engine.planExceptions(now, CHUNK)
    try {
      if (plan.milestones.length > 0) await app.commits.add({ ...emptyWriteSet(), milestones: plan.milestones })
      engine.exceptions.opened(await openExceptions(app.db.sql, plan.open))
      await clearExceptions(app.db.sql, plan.clear, now)
      engine.exceptions.cleared(plan.clear)
    } catch (error) {
      engine.exceptions.failed(plan)
      throw error
    }
    return plan.more
  }

  const sweep = async (): Promise<void> => {
    if (running) return
    running = true
    try {
      const now = app.now()
      while (await step(now)) await new Promise((resolve) => setImmediate(resolve))
      problem.succeeded()
    } catch (error) {
      problem.failed(error)
    } finally {
      running = false
    }
  }

  // once across the instances: two sweeps would each raise the same exception's milestone
  app.singleton.every('exception sweep', options.sweepMs, sweep)
  app.decorate('sweepExceptions', sweep)
}, { name: 'trackstream-exceptions', dependencies: ['trackstream-engine', 'trackstream-pipeline', 'trackstream-singleton'] })
