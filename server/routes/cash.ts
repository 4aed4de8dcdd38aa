import type { FastifyPluginAsync } from 'fastify'
import { canSee } from '../auth/permissions.js'
import { selectCashCycle, selectHandoverDiscrepancyRates, type CashKpiGrouping } from '../db/queries/cash-kpis.js'
import { selectBalances, selectDoorDiscrepancies, selectParcelEntries } from '../db/queries/ledger.js'
import { selectSettlements, updateSettlement } from '../db/queries/merchant-settlement.js'
import { selectParcelByIdOrNumber } from '../db/queries/parcels.js'
import { Errors } from '../errors.js'
import { ACCOUNTS, type Account } from '../ledger/entries.js'
import { DEFAULT_CYCLE, feeScheduleSchema, settlementCycleSchema, type FeeSchedule, type SettlementCycle } from '../ledger/settlement.js'
import { isCurrency, moneyView as money } from '../money/currency.js'
import { isTimeZone } from '../util/time-zone.js'
import { dateTime, idParams, listOf, nullableString, ops } from './schemas.js'
import { reportWindow } from './window.js'

/** An amount as the API shows it: integer minor units (exact), and the same as a decimal string for people. */
export const moneySchema = {
  type: 'object',
  properties: {
    currency: { type: 'string', description: 'ISO 4217' },
    minor: { type: 'string', description: 'integer minor units (satang, yen, fils), as a string: exact at any size' },
    amount: { type: 'string', description: 'the same as a decimal, with the currency\'s own decimals' }
  }
} as const

const stepSchema = {
  type: 'object',
  properties: { p50: { type: ['number', 'null'] }, p95: { type: ['number', 'null'] }, parcels: { type: 'integer' } }
} as const
const cycleSchema = {
  type: 'object',
  properties: { key: { type: 'string' }, parcels: { type: 'integer' }, toOperator: stepSchema, toRemitted: stepSchema, toPaid: stepSchema }
} as const

const settlementSchema = {
  type: 'object',
  properties: {
    merchantId: { type: 'string' },
    currency: { ...nullableString, description: 'the settlement currency; null: each parcel\'s own COD currency' },
    timezone: { type: 'string' },
    cycle: { type: 'object', additionalProperties: true },
    fees: { type: 'object', additionalProperties: true }
  }
} as const

interface SettlementBody { currency?: string | null, timezone?: string, cycle?: SettlementCycle, fees?: Partial<FeeSchedule> }

/** The cash ledger as finance reads it: balances, a parcel's entries, door discrepancies; and how merchants are paid. */
const cash: FastifyPluginAsync = async (app) => {
  const { sql } = app.db

  app.get<{ Querystring: { account?: Account } }>('/api/cash/balances', {
    config: { access: 'finance:read' },
    schema: {
      tags: ['finance'],
      summary: 'What each account holds now, per holder and currency: cash with drivers, at hubs, partners and the bank; what is owed to merchants',
      description: 'Derived from the ledger\'s entries, which are never changed. Debits positive: a cash account holds a positive balance, merchant_payable (owed to merchants) is negative. A merchant sees only its own merchant_payable. `since`: when the oldest entry still in the balance happened, for the age of cash held.',
      ...ops,
      querystring: { type: 'object', properties: { account: { type: 'string', enum: ACCOUNTS } } },
      response: {
        200: listOf({
          type: 'object',
          properties: { account: { type: 'string' }, holder: { type: 'string' }, balance: moneySchema, since: { ...dateTime, type: ['string', 'null'] } }
        })
      }
    }
  }, async (request) => {
    const merchant = request.principal?.merchantId ?? null
    const all = await selectBalances(sql, merchant === null ? request.query.account : 'merchant_payable')
    const mine = merchant === null ? all : all.filter((balance) => balance.holder === merchant)
    return { items: mine.map((b) => ({ account: b.account, holder: b.holder, balance: money(b.minor, b.currency), since: b.since })) }
  })

  app.get<{ Params: { id: string } }>('/api/parcels/:id/ledger', {
    config: { access: 'finance:read' },
    schema: {
      tags: ['finance'],
      summary: 'Every ledger entry of one parcel\'s cash, in the order it happened, with its lines',
      ...ops,
      params: idParams,
      response: {
        200: listOf({
          type: 'object',
          properties: {
            id: { type: 'string' },
            key: { type: 'string' },
            at: dateTime,
            cause: { type: 'string' },
            causeRef: nullableString,
            detail: { type: 'object', additionalProperties: true },
            lines: { type: 'array', items: { type: 'object', properties: { account: { type: 'string' }, holder: { type: 'string' }, money: moneySchema } } }
          }
        })
      }
    }
  }, async (request) => {
    const parcel = await selectParcelByIdOrNumber(sql, request.params.id)
    if (parcel === undefined || !canSee(request.principal, parcel.merchantId)) throw new Errors.NotFound('parcel', request.params.id)
    const entries = await selectParcelEntries(sql, parcel.id)
    return { items: entries.map((entry) => ({ ...entry, lines: entry.lines.map((l) => ({ account: l.account, holder: l.holder, money: money(l.minor, l.currency) })) })) }
  })

  app.get<{ Querystring: { limit: number } }>('/api/cash/discrepancies', {
    config: { access: 'finance:read' },
    schema: {
      tags: ['finance'],
      summary: 'Parcels whose cash at the door did not match what the buyer owed: paid short (owing > 0) or over (owing < 0), newest first',
      ...ops,
      querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } } },
      response: {
        200: listOf({
          type: 'object',
          properties: { parcelId: { type: 'string' }, trackingNumber: { type: 'string' }, merchantId: nullableString, owing: moneySchema, since: dateTime }
        })
      }
    }
  }, async (request) => ({
    items: (await selectDoorDiscrepancies(sql, request.principal?.merchantId ?? null, request.query.limit))
      .map((d) => ({ parcelId: d.parcelId, trackingNumber: d.trackingNumber, merchantId: d.merchantId, owing: money(d.owingMinor, d.currency), since: d.since }))
  }))

  app.get<{ Querystring: { from?: string, to?: string, by: CashKpiGrouping } }>('/api/cash/kpis', {
    config: { access: 'finance:read' },
    schema: {
      tags: ['finance'],
      summary: 'The cash cycle of COD parcels collected in the window (default: the last 30 days), per merchant, partner or lane; and how often handovers do not count out, per driver and hub',
      description: 'Hours from the collection at the door to: the cash at the operator (the driver\'s first handover at a hub from then on, the partner\'s settlement line, or at once for card and QR), the parcel in a remittance batch, and the batch paid; median and 95th percentile, with how many parcels got there. A merchant sees its own parcels\' cycle and no handovers.',
      ...ops,
      querystring: {
        type: 'object',
        properties: { from: dateTime, to: dateTime, by: { type: 'string', enum: ['merchant', 'partner', 'lane'], default: 'merchant' } }
      },
      response: {
        200: {
          type: 'object',
          properties: {
            from: dateTime,
            to: dateTime,
            cycle: { type: 'array', items: cycleSchema },
            handovers: {
              type: 'array',
              items: { type: 'object', properties: { by: { type: 'string', enum: ['driver', 'station'] }, key: { type: 'string' }, handovers: { type: 'integer' }, withDiscrepancy: { type: 'integer' }, rate: { type: 'number' } } }
            }
          }
        }
      }
    }
  }, async (request) => {
    const { from, to } = reportWindow(request.query, app.now())
    const merchant = request.principal?.merchantId ?? null
    return {
      from,
      to,
      cycle: await selectCashCycle(sql, from, to, request.query.by, merchant),
      handovers: merchant === null ? await selectHandoverDiscrepancyRates(sql, from, to) : []
    }
  })

  app.get<{ Params: { id: string } }>('/api/merchants/:id/settlement', {
    config: { access: 'finance:read' },
    schema: { tags: ['finance'], summary: 'How a merchant is paid: settlement currency, time zone, cycle and fees', ...ops, params: idParams, response: { 200: settlementSchema } }
  }, async (request) => {
    const [found] = canSee(request.principal, request.params.id) ? await selectSettlements(sql, request.params.id) : []
    if (found === undefined) throw new Errors.NotFound('merchant', request.params.id)
    return found
  })

  app.put<{ Params: { id: string }, Body: SettlementBody }>('/api/merchants/:id/settlement', {
    config: { access: 'access:admin' },
    schema: {
      tags: ['finance'],
      summary: 'Set how a merchant is paid',
      ...ops,
      params: idParams,
      body: {
        type: 'object',
        additionalProperties: false,
        properties: {
          currency: { type: ['string', 'null'], pattern: '^[A-Z]{3}$', description: 'ISO 4217' },
          timezone: { type: 'string', maxLength: 64, description: 'IANA, e.g. Asia/Bangkok: where the cycle\'s days begin' },
          cycle: settlementCycleSchema,
          fees: feeScheduleSchema
        }
      },
      response: { 200: settlementSchema }
    }
  }, async (request) => {
    const [current] = await selectSettlements(sql, request.params.id)
    if (current === undefined) throw new Errors.NotFound('merchant', request.params.id)
    const { currency = current.currency, timezone = current.timezone, cycle = current.cycle ?? DEFAULT_CYCLE, fees = current.fees } = request.body
    if (currency !== null && !isCurrency(currency)) throw new Errors.BadShape(`${currency} is not an ISO 4217 currency`)
    if (!isTimeZone(timezone)) throw new Errors.BadShape(`${timezone} is not an IANA time zone`)
    const updated = await updateSettlement(sql, { merchantId: current.merchantId, currency, timezone, cycle, fees })
    if (updated === null) throw new Errors.NotFound('merchant', request.params.id)
    return updated
  })
}

export default cash
