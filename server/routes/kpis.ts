import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { flavourOf } from '../db/flavour.js'
import { deleteKpiDays, insertKpiDays, lockKpiRefresh, selectKpis, takeTouchedKpiDays, type KpiGrouping, type KpiRow } from '../db/queries/kpis.js'
import { withTransaction, type Sql } from '../db/sql.js'
import { MAINTENANCE_TIMEOUT_MS } from '../plugins/db.js'
import { Errors } from '../errors.js'
import { RecurringProblem } from '../util/recurring-problem.js'
import { ops } from './schemas.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Brings the KPIs up to date now (plain PostgreSQL); TimescaleDB's are always current. */
    refreshKpis: () => Promise<void>
  }
}

const DAY_MS = 86_400_000
const rate = (part: number, whole: number): number | null => whole === 0 ? null : Math.round(part / whole * 10_000) / 10_000

/**
 * Delivery KPIs per day, last-mile partner, lane and station, from each parcel's outcome. On
 * TimescaleDB a real-time continuous aggregate; on plain PostgreSQL a table in which a refresh,
 * every KPI_REFRESH_MS, recounts the days whose outcomes were written since the last (0020), one
 * instance at a time.
 */
const kpis: FastifyPluginAsync<{ refreshMs: number }> = async (app, { refreshMs }) => {
  const plain = flavourOf(app.db.info) === 'postgres'
  const recount = async (sql: Sql): Promise<void> => {
    await lockKpiRefresh(sql)
    const days = await takeTouchedKpiDays(sql)
    if (days.length === 0) return
    await deleteKpiDays(sql, days)
    await insertKpiDays(sql, days)
  }
  const refresh = async (): Promise<void> => { if (plain) await withTransaction(app.db.pool, recount, MAINTENANCE_TIMEOUT_MS) }
  const problem = new RecurringProblem(app.log, 'KPI refresh')
  const timer = plain
    ? setInterval(() => { refresh().then(() => { problem.succeeded() }, (error: unknown) => { problem.failed(error) }) }, refreshMs).unref()
    : undefined
  app.decorate('refreshKpis', refresh)
  app.addHook('onClose', async () => { clearInterval(timer) })

  app.get<{ Querystring: { from?: string, to?: string, by: KpiGrouping } }>('/api/kpis', {
    config: { access: 'kpis:read' },
    schema: {
      tags: ['parcels'],
      summary: 'Delivery KPIs by day, last-mile partner, lane or station: on-time, delivery success, first-attempt success, exceptions, loss and damage, COD collected against expected',
      description: 'Counted on each parcel\'s outcome (delivered, returned, or suspected lost), on the day it happened. Rates are null when nothing counts towards them. On time: delivered by the promised date, among delivered parcels with a promise. Amounts never mix currencies.',
      ...ops,
      querystring: {
        type: 'object',
        properties: {
          from: { type: 'string', format: 'date', description: 'first day, UTC; default 30 days ago' },
          to: { type: 'string', format: 'date', description: 'last day, UTC, included; default today' },
          by: { type: 'string', enum: ['day', 'partner', 'lane', 'station'], default: 'partner' }
        }
      },
      response: {
        200: {
          type: 'object',
          properties: {
            from: { type: 'string' },
            to: { type: 'string' },
            items: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  key: { type: 'string' },
                  parcels: { type: 'integer' },
                  delivered: { type: 'integer' },
                  onTimeRate: { type: ['number', 'null'] },
                  deliverySuccessRate: { type: ['number', 'null'] },
                  firstAttemptRate: { type: ['number', 'null'] },
                  exceptionRate: { type: ['number', 'null'] },
                  lossDamageRate: { type: ['number', 'null'] },
                  cod: {
                    type: 'array',
                    description: 'per currency: cash on delivery expected from the parcels counted, and collected',
                    items: { type: 'object', properties: { currency: { type: 'string' }, expected: { type: 'string' }, collected: { type: 'string' }, ratio: { type: ['number', 'null'] } } }
                  }
                }
              }
            }
          }
        }
      }
    }
  }, async (request) => {
    const today = Math.floor(app.now() / DAY_MS) * DAY_MS
    const to = request.query.to === undefined ? today : Date.parse(`${request.query.to}T00:00:00Z`)
    const from = request.query.from === undefined ? to - 29 * DAY_MS : Date.parse(`${request.query.from}T00:00:00Z`)
    if (from > to) throw new Errors.BadShape('from is after to')
    const rows = await selectKpis(app.db.sql, { from: new Date(from), to: new Date(to + DAY_MS), by: request.query.by })
    return {
      from: new Date(from).toISOString().slice(0, 10),
      to: new Date(to).toISOString().slice(0, 10),
      items: byKey(rows)
    }
  })
}

/** Counts add up across currencies; amounts stay apart, one entry per currency. */
function byKey (rows: readonly KpiRow[]) {
  // code-unit order: the database's collation may ignore punctuation
  const keys = [...new Set(rows.map((row) => row.key))].sort()
  return keys.map((key) => {
    const mine = rows.filter((row) => row.key === key)
    const sum = (pick: (row: KpiRow) => number): number => mine.reduce((total, row) => total + pick(row), 0)
    const parcels = sum((r) => r.parcels)
    const delivered = sum((r) => r.delivered)
    return {
      key,
      parcels,
      delivered,
      onTimeRate: rate(sum((r) => r.onTime), sum((r) => r.promised)),
      deliverySuccessRate: rate(delivered, parcels),
      firstAttemptRate: rate(sum((r) => r.firstAttempt), delivered),
      exceptionRate: rate(sum((r) => r.withException), parcels),
      lossDamageRate: rate(sum((r) => r.lost + r.damaged), parcels),
      cod: mine.filter((row) => row.currency !== '').map((row) => ({
        currency: row.currency,
        expected: row.codExpected,
        collected: row.codCollected,
        ratio: Number(row.codExpected) === 0 ? null : rate(Number(row.codCollected), Number(row.codExpected))
      }))
    }
  })
}

export default fp(kpis, { name: 'trackstream-kpis', dependencies: ['trackstream-db', 'trackstream-auth'] })
