import fp from 'fastify-plugin'
import { Counter, Gauge } from 'prom-client'
import { AdvisoryLease } from '../db/lease.js'
import { RecurringProblem } from '../util/recurring-problem.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Work that must run once across all instances on the database. */
    singleton: {
      /** Whether this instance holds the lease now. */
      holds: () => boolean
      /** Runs `work` every `ms` on whichever instance holds the lease, one run at a time; with `atTake`, also as it takes the lease. */
      every: (name: string, ms: number, work: () => Promise<void>, options?: { atTake?: boolean }) => void
    }
  }
}

/** Any constant of our own; migrations use another. */
const LEASE_KEY = 7_411_300_013
/** How often each instance tries to take the lease, and the holder checks it still has it: a dead holder's work moves within about this. */
const RENEW_MS = 2000

/**
 * The lease for the work that must run once however many instances there are: the exception
 * sweep and the retention sweep. (The webhook dispatcher shares its rows with SKIP LOCKED and the
 * KPI refresh takes a lock of its own, so every instance may run those.) Every instance tries
 * for the lease every RENEW_MS; the one that holds it runs the work.
 */
export default fp(async (app) => {
  const lease = new AdvisoryLease(app.db.pool, LEASE_KEY, RENEW_MS)
  const held = new Gauge({
    name: 'trackstream_singleton_held',
    help: 'Whether this instance holds the lease for the work that runs once across instances (1) or not (0)',
    registers: [app.metrics],
    collect: () => { held.set(lease.held ? 1 : 0) }
  })
  const runs = new Counter({
    name: 'trackstream_singleton_runs_total',
    help: 'Runs of once-only work on this instance, by work',
    labelNames: ['work'],
    registers: [app.metrics]
  })
  interface Job { name: string, ms: number, work: () => Promise<void>, atTake: boolean, timer: NodeJS.Timeout | undefined, current: Promise<void> | undefined }
  const jobs: Job[] = []
  const problem = new RecurringProblem(app.log, 'taking the lease for once-only work')
  let closing = false

  const run = (job: Job): void => {
    if (job.current !== undefined || !lease.held || closing) return
    runs.inc({ work: job.name })
    // each job reports its own failures (RecurringProblem); this only keeps one run at a time
    job.current = job.work().catch(() => {}).finally(() => { job.current = undefined })
  }
  const renew = async (): Promise<void> => {
    const before = lease.held
    try {
      const now = await lease.renew()
      problem.succeeded()
      if (now && !before) {
        app.log.info({ work: jobs.map((job) => job.name) }, 'this instance now runs the once-only work')
        for (const job of jobs) if (job.atTake) run(job)
      }
      if (!now && before) app.log.warn('lost the lease for once-only work; another instance takes it over')
    } catch (error) {
      problem.failed(error)
    }
  }

  app.decorate('singleton', {
    holds: () => lease.held,
    every: (name, ms, work, { atTake = false } = {}) => {
      const job: Job = { name, ms, work, atTake, timer: undefined, current: undefined }
      jobs.push(job)
      app.addHook('onReady', async () => { job.timer = setInterval(() => { run(job) }, ms).unref() })
    }
  })

  let renewer: NodeJS.Timeout | undefined
  app.addHook('onReady', async () => {
    await renew()
    renewer = setInterval(() => { void renew() }, RENEW_MS).unref()
  })
  app.addHook('preClose', async () => {
    closing = true
    clearInterval(renewer)
    for (const job of jobs) clearInterval(job.timer)
    // a sweep half done finishes here before another instance may start one
    await Promise.all(jobs.map(async (job) => { await job.current }))
    await lease.release()
  })
}, { name: 'trackstream-singleton', dependencies: ['trackstream-db', 'trackstream-metrics'] })
