import type { FastifyPluginAsync } from 'fastify'
import { selectCodTotals } from '../db/queries/cod-summary.js'
import { dateTime, ops } from './schemas.js'
import { reportWindow } from './window.js'

/** What finance reads: the cash on delivery expected and collected, per currency (a merchant's own, for a merchant). */
const finance: FastifyPluginAsync = async (app) => {
  app.get<{ Querystring: { from?: string, to?: string } }>('/api/finance/cod', {
    config: { access: 'finance:read' },
    schema: {
      tags: ['finance'],
      summary: 'Cash on delivery by currency: expected, collected and outstanding, for parcels whose journey ended in the window (default: the last 30 days)',
      ...ops,
      querystring: { type: 'object', properties: { from: dateTime, to: dateTime } },
      response: {
        200: {
          type: 'object',
          properties: {
            from: dateTime,
            to: dateTime,
            items: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  currency: { type: 'string', description: 'ISO 4217' },
                  parcels: { type: 'integer' },
                  expected: { type: 'string', description: 'a decimal amount in the currency, exact' },
                  collected: { type: 'string' },
                  outstanding: { type: 'string' }
                }
              }
            }
          }
        }
      }
    }
  }, async (request) => {
    const { from, to } = reportWindow(request.query, app.now())
    return { from, to, items: await selectCodTotals(app.db.sql, from, to, request.principal?.merchantId ?? null) }
  })
}

export default finance
