import fp from 'fastify-plugin'
import { buildDueRemittances } from '../db/build-remittances.js'
import { RecurringProblem } from '../util/recurring-problem.js'

export interface RemittancesPluginOptions {
  /** REMITTANCE_SWEEP_MS: how often the once-only sweep builds the batches that are due. */
  sweepMs: number
}

/**
 * Builds each merchant's remittance batch when its cycle makes one due (server/ledger/remittance.ts),
 * on one instance of the cluster at a time (the singleton lease), as it takes the lease and every
 * REMITTANCE_SWEEP_MS after. Being once-only is for tidiness: what makes a parcel paid out exactly
 * once is its UNIQUE batch line (server/db/build-remittances.ts). A batch's webhook goes through
 * the outbox written with it, so the dispatcher is only woken here, never relied on.
 */
export default fp<RemittancesPluginOptions>(async (app, { sweepMs }) => {
  const problem = new RecurringProblem(app.log, 'building remittance batches')
  let leftOut = 0
  app.singleton.every('remittances', sweepMs, async () => {
    try {
      const report = await buildDueRemittances(app.db.pool, { now: app.now(), actor: 'scheduler' })
      if (report.built.length > 0) {
        app.webhooks.wake()
        app.log.info({ batches: report.built.map((b) => ({ id: b.id, merchant: b.merchantId, lines: b.totals.lines })) }, 'built remittance batches')
      }
      // once per change, not once a sweep: a missing rate stays missing until finance enters it
      if (report.leftOut.length !== leftOut && report.leftOut.length > 0) {
        app.log.warn({ leftOut: report.leftOut.length, reasons: [...new Set(report.leftOut.map((l) => l.reason))] }, 'parcels due for remittance were left out (POST /api/remittances/run answers which)')
      }
      leftOut = report.leftOut.length
      if (report.failed.length > 0) throw new Error(report.failed.map((f) => `${f.merchantId}: ${f.error}`).join('; '))
      problem.succeeded()
    } catch (error) {
      problem.failed(error)
    }
  }, { atTake: true })
}, { name: 'trackstream-remittances', dependencies: ['trackstream-db', 'trackstream-singleton', 'trackstream-webhooks'] })
