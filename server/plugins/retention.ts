import fp from 'fastify-plugin'
import { deleteExpired } from '../db/policies.js'
import { RecurringProblem } from '../util/recurring-problem.js'

const RETENTION_SWEEP_MS = 60 * 60 * 1000

/**
 * Plain PostgreSQL has no retention jobs (TimescaleDB runs its own): one instance deletes the
 * telemetry older than RETENTION_DAYS, as it takes the lease and every hour after.
 */
export default fp(async (app) => {
  const { info, policy, maintenanceSql } = app.db
  if (info.timescaledb !== null || policy.retentionDays === 0) return
  const problem = new RecurringProblem(app.log, 'retention sweep')
  app.singleton.every('retention', RETENTION_SWEEP_MS, async () => {
    try {
      const deleted = await deleteExpired(maintenanceSql, policy.retentionDays)
      problem.succeeded()
      if (deleted > 0) app.log.info({ deleted }, 'deleted telemetry older than RETENTION_DAYS')
    } catch (error) {
      problem.failed(error)
    }
  }, { atTake: true })
}, { name: 'trackstream-retention', dependencies: ['trackstream-db', 'trackstream-singleton'] })
