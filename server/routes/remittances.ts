import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { canSee } from '../auth/permissions.js'
import { buildDueRemittances, payBatch } from '../db/build-remittances.js'
import {
  approveBatch, insertFxRate, selectBatch, selectBatchLines, selectBatches, selectFxRates,
  type BatchState, type StoredBatch, type StoredFxRate, type StoredLine
} from '../db/queries/remittances.js'
import { Errors } from '../errors.js'
import { statementPdf } from '../reports/statement-pdf.js'
import { parseRate, RATE_PATTERN } from '../ledger/remittance.js'
import { formatAmount, isCurrency } from '../money/currency.js'
import { moneyView as money } from '../money/currency.js'
import { moneySchema } from './cash.js'
import { dateTime, listOf, nullableString, ops } from './schemas.js'

const STATES: readonly BatchState[] = ['created', 'approved', 'paid']

const uuidParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', format: 'uuid' } }
} as const
const nullableDateTime = { type: ['string', 'null'], format: 'date-time' } as const
const currencySchema = { type: 'string', pattern: '^[A-Z]{3}$', description: 'ISO 4217' } as const

const batchProperties = {
  id: { type: 'string' },
  merchantId: { type: 'string' },
  currency: { type: 'string', description: 'the settlement currency: every amount of the batch is in it' },
  state: { type: 'string', enum: STATES, description: 'created → approved → paid, and never back' },
  cutoff: { ...dateTime, description: 'when the cycle was judged: what was payable then is in the batch' },
  periodFrom: { ...dateTime, description: 'the earliest delivery (or return) among its lines' },
  periodTo: dateTime,
  lines: { type: 'integer' },
  gross: { ...moneySchema, description: 'the COD of its parcels' },
  fees: { ...moneySchema, description: 'COD fees and fixed fees per parcel' },
  deductions: { ...moneySchema, description: 'shipping charges deducted and return charges' },
  reversals: { ...moneySchema, description: 'the COD of returned parcels, taken back' },
  net: { ...moneySchema, description: 'gross − fees − deductions − reversals: what the bank pays the merchant' },
  createdAt: dateTime,
  createdBy: { type: 'string' },
  approvedAt: nullableDateTime,
  approvedBy: nullableString,
  paidAt: nullableDateTime,
  paidBy: nullableString,
  bankReference: nullableString
} as const
const batchSchema = { type: 'object', properties: batchProperties } as const

const lineSchema = {
  type: 'object',
  properties: {
    parcelId: { type: 'string' },
    trackingNumber: { type: 'string' },
    deliveredAt: nullableDateTime,
    returned: { type: 'boolean' },
    cod: { anyOf: [moneySchema, { type: 'null' }], description: 'the cash collected, in its own currency' },
    rate: { ...nullableString, description: 'the exchange rate used from the COD\'s currency into the batch\'s, as recorded; null when they are the same' },
    gross: moneySchema,
    fee: moneySchema,
    deduction: moneySchema,
    reversal: moneySchema,
    net: moneySchema
  }
} as const

const rateSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    rate: { type: 'string', description: 'units of `to` for one unit of `from`, exact' },
    validFrom: dateTime,
    createdAt: dateTime,
    createdBy: { type: 'string' }
  }
} as const

const leftOutSchema = {
  type: 'object',
  properties: {
    merchantId: { type: 'string' },
    parcelId: { type: 'string' },
    trackingNumber: { type: 'string' },
    reason: { type: 'string', enum: ['no_rate', 'mixed_currencies', 'no_currency'] },
    currency: nullableString
  }
} as const

function batchView (batch: StoredBatch): Record<string, unknown> {
  const { lineCount, gross, fees, deductions, reversals, net, ...rest } = batch
  const c = batch.currency
  return { ...rest, lines: lineCount, gross: money(gross, c), fees: money(fees, c), deductions: money(deductions, c), reversals: money(reversals, c), net: money(net, c) }
}

function lineView (line: StoredLine, currency: string): Record<string, unknown> {
  return {
    parcelId: line.parcelId,
    trackingNumber: line.trackingNumber,
    deliveredAt: line.deliveredAt,
    returned: line.returned,
    cod: line.cod === null ? null : money(line.cod.minor, line.cod.currency),
    rate: line.rate,
    gross: money(line.gross, currency),
    fee: money(line.fee, currency),
    deduction: money(line.deduction, currency),
    reversal: money(line.reversal, currency),
    net: money(line.net, currency)
  }
}

const rateView = (rate: StoredFxRate): Record<string, unknown> => ({ ...rate })

/** The same rate however it is written: "36.50" and "36.5". */
const sameRate = (a: string, b: string): boolean => {
  const x = parseRate(a)
  const y = parseRate(b)
  if (x === null || y === null) return false
  const scale = Math.max(x.scale, y.scale)
  return x.scaled * 10n ** BigInt(scale - x.scale) === y.scaled * 10n ** BigInt(scale - y.scale)
}

/**
 * A merchant's statement of one batch: one row per parcel (tracking number, delivery, COD as
 * collected, the rate, then gross, fee, deductions, reversal and net as decimals of the batch's
 * currency) and a totals row. Nothing of the buyer: no name, address or phone.
 */
export function statementCsv (batch: StoredBatch, lines: readonly StoredLine[]): string {
  const c = batch.currency
  const amount = (minor: bigint): string => formatAmount({ minor, currency: c })
  const rows: string[][] = [['tracking_number', 'delivered_at', 'returned', 'cod_amount', 'cod_currency', 'fx_rate', 'gross', 'fee', 'deduction', 'reversal', 'net', 'currency']]
  for (const line of lines) {
    rows.push([
      text(line.trackingNumber),
      line.deliveredAt?.toISOString() ?? '',
      line.returned ? 'yes' : 'no',
      line.cod === null ? '' : formatAmount(line.cod),
      line.cod?.currency ?? '',
      line.rate ?? '',
      amount(line.gross), amount(line.fee), amount(line.deduction), amount(line.reversal), amount(line.net), c
    ])
  }
  rows.push(['TOTAL', '', '', '', '', '', amount(batch.gross), amount(batch.fees), amount(batch.deductions), amount(batch.reversals), amount(batch.net), c])
  return rows.map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n'
}

/** A cell a spreadsheet must not read as a formula (a tracking number is the sender's text). */
const text = (value: string): string => /^[=+\-@\t\r]/.test(value) ? `'${value}` : value
const csvField = (value: string): string => /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value

/**
 * Remittance to merchants: the batches the scheduler builds (plugins/remittances.ts), approving
 * them and marking them paid, their statements; and the exchange rates cross-currency lines use.
 */
const remittances: FastifyPluginAsync = async (app) => {
  const { sql, pool } = app.db

  const find = async (id: string, request: FastifyRequest): Promise<StoredBatch> => {
    const batch = await selectBatch(sql, id)
    // another merchant's batch does not exist, as far as this merchant can tell
    if (batch === undefined || !canSee(request.principal, batch.merchantId)) throw new Errors.NotFound('remittance', id)
    return batch
  }
  const actorOf = (request: FastifyRequest): string => request.principal?.actor ?? 'unknown'

  app.get<{ Querystring: { merchantId?: string, state?: BatchState, limit: number } }>('/api/remittances', {
    config: { access: 'finance:read' },
    schema: {
      tags: ['finance'],
      summary: 'Remittance batches, newest first: what each merchant is (or was) paid, with totals',
      description: 'A merchant sees its own batches only.',
      ...ops,
      querystring: {
        type: 'object',
        properties: {
          merchantId: { type: 'string', maxLength: 128 },
          state: { type: 'string', enum: STATES },
          limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 }
        }
      },
      response: { 200: listOf(batchSchema) }
    }
  }, async (request) => {
    const own = request.principal?.merchantId ?? null
    const { merchantId = own, state = null, limit } = request.query
    if (own !== null && merchantId !== own) return { items: [] }
    return { items: (await selectBatches(sql, { merchantId, state, limit })).map(batchView) }
  })

  app.get<{ Params: { id: string } }>('/api/remittances/:id', {
    config: { access: 'finance:read' },
    schema: {
      tags: ['finance'],
      summary: 'One remittance batch with its parcel lines',
      ...ops,
      params: uuidParams,
      response: { 200: { type: 'object', properties: { ...batchProperties, items: { type: 'array', items: lineSchema } } } }
    }
  }, async (request) => {
    const batch = await find(request.params.id, request)
    const lines = await selectBatchLines(sql, batch.id)
    return { ...batchView(batch), items: lines.map((line) => lineView(line, batch.currency)) }
  })

  app.get<{ Params: { id: string } }>('/api/remittances/:id/statement.csv', {
    config: { access: 'finance:read' },
    schema: {
      tags: ['finance'],
      summary: 'The merchant\'s statement of one batch, as CSV: one row per parcel and a totals row',
      description: 'Columns: tracking_number, delivered_at, returned, cod_amount, cod_currency (as collected), fx_rate, then gross, fee, deduction, reversal, net and currency (the batch\'s). No buyer\'s personal data. The same as a PDF: statement.pdf.',
      ...ops,
      params: uuidParams,
      produces: ['text/csv'],
      response: { 200: { type: 'string', description: 'text/csv' } }
    }
  }, async (request, reply) => {
    const batch = await find(request.params.id, request)
    const csv = statementCsv(batch, await selectBatchLines(sql, batch.id))
    return await reply.type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="remittance-${batch.merchantId.replace(/[^A-Za-z0-9_-]/g, '_')}-${batch.id}.csv"`)
      .send(csv)
  })

  app.get<{ Params: { id: string } }>('/api/remittances/:id/statement.pdf', {
    config: { access: 'finance:read' },
    schema: {
      tags: ['finance'],
      summary: 'The merchant\'s statement of one batch, as PDF: the batch, one row per parcel, the totals',
      description: 'The same figures as statement.csv; no buyer\'s personal data.',
      ...ops,
      params: uuidParams,
      produces: ['application/pdf'],
      response: { 200: { type: 'string', format: 'binary', description: 'application/pdf' } }
    }
  }, async (request, reply) => {
    const batch = await find(request.params.id, request)
    const pdf = await statementPdf(batch, await selectBatchLines(sql, batch.id))
    return await reply.type('application/pdf')
      .header('content-disposition', `attachment; filename="remittance-${batch.merchantId.replace(/[^A-Za-z0-9_-]/g, '_')}-${batch.id}.pdf"`)
      .send(Buffer.from(pdf))
  })

  app.post<{ Body: { merchantId?: string } }>('/api/remittances/run', {
    config: { access: 'finance:write' },
    schema: {
      tags: ['finance'],
      summary: 'Build the batches that are due now (the scheduler does the same every REMITTANCE_SWEEP_MS); answers what it built',
      description: 'Never pays a parcel twice: a parcel already in a batch is in no other. Parcels left out (no exchange rate for their currency, …) are listed and tried again next time.',
      ...ops,
      body: { type: 'object', additionalProperties: false, properties: { merchantId: { type: 'string', maxLength: 128 } } },
      response: {
        200: {
          type: 'object',
          properties: {
            built: { type: 'array', items: batchSchema },
            leftOut: { type: 'array', items: leftOutSchema },
            notDue: { type: 'integer', description: 'parcels waiting for their cycle' },
            alreadyRemitted: {
              type: 'array',
              description: 'parcels collected or returned again after their batch: not paid twice (and a return after remittance is not reversed yet)',
              items: { type: 'object', properties: { merchantId: { type: 'string' }, parcelId: { type: 'string' }, trackingNumber: { type: 'string' } } }
            },
            failed: { type: 'array', items: { type: 'object', properties: { merchantId: { type: 'string' }, error: { type: 'string' } } } }
          }
        }
      }
    }
  }, async (request) => {
    const report = await buildDueRemittances(pool, { now: app.now(), actor: actorOf(request), ...(request.body?.merchantId === undefined ? {} : { merchantId: request.body.merchantId }) })
    if (report.built.length > 0) app.webhooks.wake()
    for (const failure of report.failed) request.log.warn(failure, 'building a remittance batch failed')
    const built = await Promise.all(report.built.map(async (b) => await selectBatch(sql, b.id)))
    return { ...report, built: built.filter((b): b is StoredBatch => b !== undefined).map(batchView) }
  })

  app.post<{ Params: { id: string } }>('/api/remittances/:id/approve', {
    config: { access: 'finance:write' },
    schema: {
      tags: ['finance'],
      summary: 'Approve a batch for payment: created → approved (409 from any other state)',
      ...ops,
      params: uuidParams,
      response: { 200: batchSchema }
    }
  }, async (request) => {
    const batch = await find(request.params.id, request)
    const approved = await approveBatch(sql, batch.id, new Date(app.now()), actorOf(request))
    if (approved === undefined) {
      const now = await selectBatch(sql, batch.id)
      throw new Errors.WrongState(`remittance "${batch.id}" is ${now?.state ?? batch.state}; only a created one can be approved`)
    }
    return batchView(approved)
  })

  app.post<{ Params: { id: string }, Body: { bankReference: string } }>('/api/remittances/:id/paid', {
    config: { access: 'finance:write' },
    schema: {
      tags: ['finance'],
      summary: 'Mark an approved batch paid, with the bank\'s reference: books the payout and sends remittance.paid (409 unless approved)',
      ...ops,
      params: uuidParams,
      body: {
        type: 'object',
        required: ['bankReference'],
        additionalProperties: false,
        properties: { bankReference: { type: 'string', minLength: 1, maxLength: 200, description: 'the bank transfer\'s reference' } }
      },
      response: { 200: batchSchema }
    }
  }, async (request) => {
    const batch = await find(request.params.id, request)
    const outcome = await payBatch(pool, { id: batch.id, now: app.now(), actor: actorOf(request), bankReference: request.body.bankReference })
    if (outcome.kind === 'missing') throw new Errors.NotFound('remittance', batch.id)
    if (outcome.kind === 'wrong_state') throw new Errors.WrongState(`remittance "${batch.id}" is ${outcome.state}; only an approved one can be marked paid`)
    app.webhooks.wake()
    return batchView(outcome.batch)
  })

  app.post<{ Body: { from: string, to: string, rate: string, validFrom?: string } }>('/api/cash/fx-rates', {
    config: { access: 'finance:write' },
    schema: {
      tags: ['finance'],
      summary: 'Record an exchange rate, used by remittance batches from validFrom on',
      description: 'Rates are never changed: a new rate is a new validFrom. The rate a batch line used is recorded on the line. The same rate sent again answers 200; another rate for the same pair and validFrom is 409.',
      ...ops,
      body: {
        type: 'object',
        required: ['from', 'to', 'rate'],
        additionalProperties: false,
        properties: {
          from: currencySchema,
          to: currencySchema,
          rate: { type: 'string', pattern: RATE_PATTERN, description: 'units of `to` for one unit of `from`, as a decimal string (never a float): "36.25"' },
          validFrom: { ...dateTime, description: 'defaults to now' }
        }
      },
      response: { 200: rateSchema, 201: rateSchema }
    }
  }, async (request, reply) => {
    const { from, to, rate } = request.body
    if (!isCurrency(from) || !isCurrency(to)) throw new Errors.BadShape(`${isCurrency(from) ? to : from} is not an ISO 4217 currency`)
    if (from === to) throw new Errors.BadShape('a rate converts between two different currencies')
    if (parseRate(rate) === null) throw new Errors.BadShape('a rate must be positive')
    const validFrom = request.body.validFrom === undefined ? new Date(app.now()) : new Date(request.body.validFrom)
    const stored = await insertFxRate(sql, { from, to, rate, validFrom, createdBy: actorOf(request) })
    if (stored.created) return await reply.code(201).send(rateView(stored.rate))
    if (!sameRate(stored.rate.rate, rate)) throw new Errors.WrongState(`${from}→${to} from ${validFrom.toISOString()} is already ${stored.rate.rate}; rates are never changed: give a new validFrom`)
    return rateView(stored.rate)
  })

  app.get<{ Querystring: { from?: string, to?: string, limit: number } }>('/api/cash/fx-rates', {
    config: { access: 'finance:read' },
    schema: {
      tags: ['finance'],
      summary: 'Exchange rates, newest validFrom first',
      ...ops,
      querystring: {
        type: 'object',
        properties: { from: currencySchema, to: currencySchema, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } }
      },
      response: { 200: listOf(rateSchema) }
    }
  }, async (request) => ({ items: (await selectFxRates(sql, request.query)).map(rateView) }))
}

export default remittances
