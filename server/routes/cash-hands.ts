import { isUtf8 } from 'node:buffer'
import { createHash } from 'node:crypto'
import type { FastifyPluginAsync } from 'fastify'
import { insertDeposit, selectDepositByIdOrReference, selectDeposits, selectStationExists, type StoredDeposit } from '../db/queries/cash-deposits.js'
import { insertCashDiscrepancies, insertHandover, resolveCashDiscrepancy, selectHandover, selectHandoverParties, selectHandovers, type StoredHandover } from '../db/queries/cash-handovers.js'
import { postEntries } from '../db/queries/ledger.js'
import { lockHolder, selectHolderBalance } from '../db/queries/ledger-holder.js'
import {
  insertImport, selectImport, selectImportLines, selectImports, selectMapping, selectMissing, selectPartnerParcels, upsertMapping,
  type ImportSummary, type StoredImport, type StoredLine, type StoredLineStatus, type StoredMapping
} from '../db/queries/partner-settlements.js'
import { isUniqueViolation, withTransaction } from '../db/sql.js'
import { Errors } from '../errors.js'
import { depositEntry, overdrawn } from '../ledger/deposit.js'
import { blindCount, differenceOf, findingsOf, handoverEntry, type CountLine } from '../ledger/handover.js'
import {
  cutoffOf, DEFAULT_MAPPING, mappingProblem, matchSettlement, partnerMappingSchema, readSettlementFile, SettlementFileError,
  type PartnerMapping, type SettlementRow
} from '../ledger/partner-settlement.js'
import { formatAmount, isCurrency, parseAmount, type Money } from '../money/currency.js'
import { moneyView as money } from '../money/currency.js'
import { moneySchema } from './cash.js'
import { dateTime, idSchema, listOf, nullableString, ops } from './schemas.js'

/** A settlement file may be this large; the rest of the API keeps the server's small body limit. */
const CSV_LIMIT_BYTES = 16 * 1024 * 1024
const MAX_FILE_LINES = 200_000
/** A handover or deposit dated further ahead than this is a wrong clock, not a plan. */
const FUTURE_TOLERANCE_MS = 5 * 60_000

/** An amount as clients send it: a decimal string in its currency, never a float. */
const moneyIn = {
  type: 'object',
  required: ['currency', 'amount'],
  additionalProperties: false,
  properties: {
    currency: { type: 'string', pattern: '^[A-Z]{3}$', description: 'ISO 4217' },
    amount: { type: 'string', pattern: '^\\d{1,15}(\\.\\d{1,6})?$', description: 'a decimal, with no more decimals than the currency has (THB 2, JPY 0, KWD 3): more is refused (422)' }
  }
} as const
const moneyListIn = { type: 'array', maxItems: 50, items: moneyIn } as const
const clientId = { type: 'string', pattern: '^[\\x21-\\x7e]{1,200}$', description: 'the client\'s own id of it, its idempotency key (as is the Idempotency-Key header): sent again, it is recorded once' } as const
const idempotencyHeaders = { type: 'object', properties: { 'idempotency-key': { ...clientId, description: 'the same as `id` in the body' } } } as const
const partnerParams = {
  type: 'object',
  required: ['partner'],
  properties: { partner: { type: 'string', minLength: 1, maxLength: 100, description: 'the last-mile partner, as parcels name it (lastMilePartner)' } }
} as const
const nullableMoney = { ...moneySchema, type: ['object', 'null'] } as const

interface MoneyIn { currency: string, amount: string }
interface HandoverBody { id?: string, driver: string, stationId: string, declaredByDriver: MoneyIn[], countedByCashier: MoneyIn[], time?: string }
interface DepositBody { id?: string, stationId: string, reference: string, amounts: MoneyIn[], time?: string }

const countLineSchema = {
  type: 'object',
  properties: {
    currency: { type: 'string' },
    expected: { ...moneySchema, description: 'what the ledger said the driver held (driver_cash) when the count was recorded' },
    declared: moneySchema,
    counted: moneySchema,
    difference: { ...moneySchema, description: 'counted − expected: negative is a shortfall (booked to shortage[driver]), positive an excess' },
    findings: { type: 'array', items: { type: 'string', enum: ['shortfall', 'excess', 'declaration_differs'] } }
  }
} as const
const handoverSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    driver: { type: 'string' },
    stationId: { type: 'string' },
    time: dateTime,
    countedBy: { type: 'string', description: 'who recorded the count' },
    recordedAt: dateTime,
    discrepancy: { type: 'boolean' },
    lines: { type: 'array', items: countLineSchema },
    exceptionIds: { type: 'array', items: { type: 'string' }, description: 'the cash_discrepancy exceptions it raised (GET /api/exceptions)' }
  }
} as const
const depositSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    stationId: { type: 'string' },
    reference: { type: 'string' },
    time: dateTime,
    recordedBy: { type: 'string' },
    recordedAt: dateTime,
    amounts: { type: 'array', items: moneySchema }
  }
} as const
const mappingOutSchema = {
  type: 'object',
  properties: { partner: { type: 'string' }, mapping: { type: 'object', additionalProperties: true }, updatedAt: dateTime, updatedBy: { type: 'string' } }
} as const
const importSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    partner: { type: 'string' },
    reference: { type: 'string' },
    importedAt: dateTime,
    importedBy: { type: 'string' },
    fileSha256: { type: 'string' },
    cutoff: { type: ['string', 'null'], format: 'date-time', description: 'delivered before this and in no file yet: missing' },
    summary: {
      type: 'object',
      properties: {
        lines: { type: 'integer' },
        counts: { type: 'object', additionalProperties: { type: 'integer' } },
        booked: { type: 'array', items: moneySchema, description: 'moved from the partner\'s cash to the bank by this import' }
      }
    }
  }
} as const
const LINE_STATUSES = ['matched', 'short_paid', 'over_paid', 'paid_twice', 'not_ours', 'not_delivered', 'wrong_currency', 'invalid', 'already_imported'] as const
const lineSchema = {
  type: 'object',
  properties: {
    line: { type: 'integer', description: 'the line of the file it starts on' },
    trackingNumber: { type: 'string' },
    parcelId: nullableString,
    status: { type: 'string', enum: LINE_STATUSES },
    paid: nullableMoney,
    expected: { ...nullableMoney, description: 'what the partner collected for it (the ledger), else its COD' },
    difference: { ...nullableMoney, description: 'paid − expected' },
    partnerReference: nullableString,
    problem: nullableString,
    booked: { type: 'boolean', description: 'this import moved it from the partner\'s cash to the bank' }
  }
} as const
const missingSchema = {
  type: 'object',
  properties: { trackingNumber: { type: 'string' }, parcelId: { type: 'string' }, deliveredAt: dateTime, expected: nullableMoney }
} as const
const reportSchema = {
  type: 'object',
  properties: {
    import: importSchema,
    lines: { type: 'array', items: lineSchema },
    missing: { type: 'array', items: missingSchema, description: 'the partner\'s delivered COD parcels, delivered before the cutoff, that none of its files has paid' }
  }
} as const

/**
 * The hands cash passes after the door: a driver's handover at a hub (counted blind), the hub's
 * bank deposit, a last-mile partner's settlement file. Each reads an account's balance and books
 * against it in one transaction holding that account (ledger-holder.ts), so two instances never
 * take the same cash twice; each is recorded once by its own key, however often it is sent.
 */
const cashHands: FastifyPluginAsync = async (app) => {
  const { sql, pool } = app.db

  // a partner's file comes as it was exported; valid UTF-8 only (a spreadsheet's Latin-1 would misread names, never amounts, but is refused alike)
  app.addContentTypeParser(['text/csv', 'application/csv'], { parseAs: 'buffer', bodyLimit: CSV_LIMIT_BYTES }, (_request, body, done) => {
    if (!isUtf8(body as Buffer)) done(new Errors.BadText('the file is not valid UTF-8'), undefined)
    else done(null, (body as Buffer).toString('utf8'))
  })

  const timeOf = (time: string | undefined): Date => {
    if (time === undefined) return new Date(app.now())
    const at = new Date(time)
    if (at.getTime() > app.now() + FUTURE_TOLERANCE_MS) throw new Errors.BadShape(`${time} is in the future`)
    return at
  }

  app.post<{ Body: HandoverBody, Headers: { 'idempotency-key'?: string } }>('/api/cash/handovers', {
    config: { access: 'finance:write' },
    schema: {
      tags: ['finance'],
      summary: 'A driver\'s end-of-shift cash handover at a hub, counted blind: what the driver declares and what the cashier counts, per currency',
      description: 'Neither the driver nor the cashier is shown what the driver should hold: the server reads the driver\'s cash (driver_cash, held by the driver app\'s device id) when it records the count, and answers it. The counted cash moves to the hub (hub_cash[station]); the driver\'s cash account is emptied, and a shortfall goes to shortage[driver] (an excess takes shortage[driver] below zero). A shortfall, an excess, or a declaration that differs from the count opens a cash_discrepancy exception of the driver per currency (GET /api/exceptions). Send an `id` or an Idempotency-Key header: sent again, the handover is booked once and answered as it was (200); the same id with other amounts is refused (409).',
      ...ops,
      headers: idempotencyHeaders,
      body: {
        type: 'object',
        required: ['driver', 'stationId', 'declaredByDriver', 'countedByCashier'],
        additionalProperties: false,
        properties: {
          id: clientId,
          driver: { ...idSchema, description: 'the driver app\'s device id: whose cash it is' },
          stationId: { ...idSchema, description: 'the hub that takes the cash' },
          declaredByDriver: { ...moneyListIn, description: 'what the driver says they hand over; a currency left out is declared as 0' },
          countedByCashier: { ...moneyListIn, description: 'what the cashier counted; a currency left out is counted as 0' },
          time: { ...dateTime, description: 'when it was counted; now when absent' }
        }
      },
      response: { 200: handoverSchema, 201: handoverSchema }
    }
  }, async (request, reply) => {
    const id = idempotencyKey(request.headers['idempotency-key'], request.body.id)
    const { driver, stationId } = request.body
    const declared = moneyList(request.body.declaredByDriver, 'declaredByDriver', false)
    const counted = moneyList(request.body.countedByCashier, 'countedByCashier', false)
    const at = timeOf(request.body.time)
    const requestHash = hashOf({ driver, stationId, declared, counted, time: request.body.time ?? null })
    const countedBy = request.principal?.actor ?? 'anonymous'
    const { handover, created } = await withTransaction(pool, async (tx) => {
      await lockHolder(tx, 'driver_cash', driver)
      const existing = await selectHandover(tx, id)
      if (existing !== undefined) return { handover: existing, created: false }
      const parties = await selectHandoverParties(tx, driver, stationId)
      if (!parties.driver) throw new Errors.UnknownReference('device', driver)
      if (!parties.station) throw new Errors.UnknownReference('station', stationId)
      const lines = blindCount(await selectHolderBalance(tx, 'driver_cash', driver), declared, counted)
      // another driver's handover under the same id, at the same moment (it holds another lock)
      if (!await insertHandover(tx, { id, driver, stationId, at, countedBy, requestHash, lines })) throw new Errors.WrongState(`handover ${id} is being recorded by another request`)
      const entry = handoverEntry({ id, at, driver, stationId, lines })
      if (entry !== null) await postEntries(tx, [entry])
      await insertCashDiscrepancies(tx, lines.filter((l) => findingsOf(l).length > 0).map((l) => ({ driver, openedAt: at, detail: discrepancyDetail(id, stationId, l) })))
      const stored = await selectHandover(tx, id)
      if (stored === undefined) throw new Error(`handover ${id} vanished inside its own transaction`)
      return { handover: stored, created: true }
    })
    if (!created && handover.requestHash !== requestHash) throw new Errors.WrongState(`handover ${id} was already recorded with other amounts, driver or hub`)
    void reply.code(created ? 201 : 200)
    return handoverView(handover)
  })

  app.post<{ Params: { id: string }, Body: { note: string } }>('/api/cash/discrepancies/:id/resolve', {
    config: { access: 'finance:write' },
    schema: {
      tags: ['finance'],
      summary: 'Close a handover\'s cash_discrepancy exception, saying how it was settled (found, paid back by the driver, written off)',
      description: 'The ledger is not changed by this: the money, if any, is booked as its own entry (a correction is a new entry). Who closed it, when and the note stay in the exception\'s detail and the audit log.',
      ...ops,
      params: { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^\\d{1,19}$' } } },
      body: { type: 'object', required: ['note'], additionalProperties: false, properties: { note: { type: 'string', minLength: 1, maxLength: 1000 } } },
      response: { 200: { type: 'object', properties: { id: { type: 'string' }, resolved: { type: 'boolean' } } } }
    }
  }, async (request) => {
    const outcome = await resolveCashDiscrepancy(sql, request.params.id, { by: request.principal?.actor ?? 'unknown', note: request.body.note, at: new Date(app.now()) })
    if (outcome === 'missing') throw new Errors.NotFound('cash discrepancy', request.params.id)
    if (outcome === 'already') throw new Errors.WrongState(`cash discrepancy ${request.params.id} is already closed`)
    return { id: request.params.id, resolved: true }
  })

  app.get<{ Querystring: { driver?: string, station?: string, limit: number } }>('/api/cash/handovers', {
    config: { access: 'finance:read' },
    schema: {
      tags: ['finance'],
      summary: 'Drivers\' handovers at hubs, newest first, each with expected, declared and counted per currency and its discrepancies',
      description: 'The operator\'s own cash: a merchant sees none.',
      ...ops,
      querystring: {
        type: 'object',
        properties: { driver: idSchema, station: idSchema, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } }
      },
      response: { 200: listOf(handoverSchema) }
    }
  }, async (request) => {
    if (request.principal?.merchantId !== null) return { items: [] }
    const { driver, station, limit } = request.query
    return { items: (await selectHandovers(sql, { driver, stationId: station, limit })).map(handoverView) }
  })

  app.post<{ Body: DepositBody, Headers: { 'idempotency-key'?: string } }>('/api/cash/deposits', {
    config: { access: 'finance:write' },
    schema: {
      tags: ['finance'],
      summary: 'A hub\'s cash paid into the operator\'s bank, with the bank\'s deposit reference',
      description: 'Moves the amounts from the hub\'s cash (hub_cash[station]) to the bank. Refused whole (422) when the hub holds less than that in a currency. Recorded once per id (the `id`, an Idempotency-Key header, or else the hub and reference): sent again it is answered as it was (200); a reference of the hub already recorded for another deposit is refused (409).',
      ...ops,
      headers: idempotencyHeaders,
      body: {
        type: 'object',
        required: ['stationId', 'reference', 'amounts'],
        additionalProperties: false,
        properties: {
          id: clientId,
          stationId: idSchema,
          reference: { type: 'string', minLength: 1, maxLength: 200, description: 'the bank\'s deposit slip' },
          amounts: { ...moneyListIn, minItems: 1 },
          time: { ...dateTime, description: 'when it was paid in; now when absent' }
        }
      },
      response: { 200: depositSchema, 201: depositSchema }
    }
  }, async (request, reply) => {
    const { stationId, reference } = request.body
    const id = idempotencyKey(request.headers['idempotency-key'], request.body.id, `${stationId}:${reference}`)
    const amounts = moneyList(request.body.amounts, 'amounts', true)
    const at = timeOf(request.body.time)
    const requestHash = hashOf({ stationId, reference, amounts, time: request.body.time ?? null })
    const recordedBy = request.principal?.actor ?? 'anonymous'
    let outcome: { deposit: StoredDeposit, created: boolean }
    try {
      outcome = await withTransaction(pool, async (tx) => {
        await lockHolder(tx, 'hub_cash', stationId)
        const existing = await selectDepositByIdOrReference(tx, id, stationId, reference)
        if (existing !== undefined) return { deposit: existing, created: false }
        if (!await selectStationExists(tx, stationId)) throw new Errors.UnknownReference('station', stationId)
        const short = overdrawn(await selectHolderBalance(tx, 'hub_cash', stationId), amounts)
        if (short.length > 0) {
          throw new Errors.BadShape(`hub ${stationId} holds ${short.map((s) => `${formatAmount({ minor: s.held, currency: s.currency })} ${s.currency} (not ${formatAmount({ minor: s.asked, currency: s.currency })})`).join(', ')}: a deposit cannot be more than the hub holds`)
        }
        await insertDeposit(tx, { id, stationId, reference, at, recordedBy, requestHash, amounts })
        await postEntries(tx, [depositEntry({ id, at, stationId, reference, amounts })])
        const stored = await selectDepositByIdOrReference(tx, id, stationId, reference)
        if (stored === undefined) throw new Error(`deposit ${id} vanished inside its own transaction`)
        return { deposit: stored, created: true }
      })
    } catch (error) {
      // the same id sent for another hub at the same moment (it held another hub's lock)
      if (isUniqueViolation(error)) throw new Errors.WrongState(`deposit ${id} is already recorded`)
      throw error
    }
    const { deposit, created } = outcome
    if (!created && deposit.id !== id) throw new Errors.WrongState(`deposit slip ${reference} of hub ${stationId} is already recorded, as deposit ${deposit.id}`)
    if (!created && deposit.requestHash !== requestHash) throw new Errors.WrongState(`deposit ${id} was already recorded with other amounts, hub or reference`)
    void reply.code(created ? 201 : 200)
    return depositView(deposit)
  })

  app.get<{ Querystring: { station?: string, limit: number } }>('/api/cash/deposits', {
    config: { access: 'finance:read' },
    schema: {
      tags: ['finance'],
      summary: 'Hubs\' bank deposits, newest first',
      description: 'The operator\'s own cash: a merchant sees none.',
      ...ops,
      querystring: { type: 'object', properties: { station: idSchema, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } } },
      response: { 200: listOf(depositSchema) }
    }
  }, async (request) => {
    if (request.principal?.merchantId !== null) return { items: [] }
    return { items: (await selectDeposits(sql, { stationId: request.query.station, limit: request.query.limit })).map(depositView) }
  })

  app.put<{ Params: { partner: string }, Body: Partial<PartnerMapping> & Pick<PartnerMapping, 'trackingNumber' | 'amount'> }>('/api/cash/partners/:partner/mapping', {
    config: { access: 'finance:write' },
    schema: {
      tags: ['finance'],
      summary: 'How to read a last-mile partner\'s settlement file: which column holds the tracking number, the amount, the currency, the reference and the date',
      description: 'A column is its header\'s name (case and spaces around it do not matter) or its position from 1. Either a currency column or a fixedCurrency. Dates: iso (2026-12-04, or a full ISO 8601 time), dmy (04/12/2026) or mdy, a day in `timezone`.',
      ...ops,
      params: partnerParams,
      body: partnerMappingSchema,
      response: { 200: mappingOutSchema }
    }
  }, async (request) => {
    const mapping: PartnerMapping = { ...DEFAULT_MAPPING, ...request.body }
    const problem = mappingProblem(mapping)
    if (problem !== null) throw new Errors.BadShape(problem)
    return mappingView(await upsertMapping(sql, request.params.partner, mapping, request.principal?.actor ?? 'anonymous'))
  })

  app.get<{ Params: { partner: string } }>('/api/cash/partners/:partner/mapping', {
    config: { access: 'finance:read' },
    schema: { tags: ['finance'], summary: 'How a partner\'s settlement file is read', ...ops, params: partnerParams, response: { 200: mappingOutSchema } }
  }, async (request) => {
    const found = request.principal?.merchantId !== null ? undefined : await selectMapping(sql, request.params.partner)
    if (found === undefined) throw new Errors.NotFound('settlement file mapping of partner', request.params.partner)
    return mappingView(found)
  })

  app.post<{ Params: { partner: string }, Querystring: { reference: string }, Body: string }>('/api/cash/partners/:partner/settlements', {
    config: { access: 'finance:write' },
    bodyLimit: CSV_LIMIT_BYTES,
    schema: {
      tags: ['finance'],
      summary: 'Import a last-mile partner\'s settlement file (CSV, as its mapping reads it) and match it parcel by parcel',
      description: 'Each line against the partner\'s parcels: matched (the amount the partner collected for it, as the ledger has it, or its COD), short_paid, over_paid, paid_twice (settled by another remittance, or by an earlier line of this file), not_ours (unknown, or another partner\'s), not_delivered (no delivery recorded yet: booked by a later import once it is), wrong_currency, invalid, already_imported (this line of this remittance was booked before). Matched, short- and over-paid lines move what was paid from the partner\'s cash (partner_cash[partner]) to the bank, once per remittance reference and parcel: importing the same file again books nothing. Missing: the partner\'s COD parcels delivered before the file\'s latest date (without dates: before its latest delivery it pays) that no file has paid.',
      ...ops,
      params: partnerParams,
      querystring: {
        type: 'object',
        required: ['reference'],
        properties: { reference: { type: 'string', minLength: 1, maxLength: 200, description: 'the partner\'s remittance reference' } }
      },
      body: { content: { 'text/csv': { schema: { type: 'string', description: 'the file as the partner sent it, UTF-8' } } } },
      response: { 201: reportSchema }
    }
  }, async (request, reply) => {
    if (typeof request.body !== 'string') throw new Errors.BadShape('send the settlement file as the body, with Content-Type: text/csv')
    const { partner } = request.params
    const { reference } = request.query
    const stored = await selectMapping(sql, partner)
    if (stored === undefined) throw new Errors.WrongState(`partner ${partner} has no settlement file mapping: PUT /api/cash/partners/${partner}/mapping first`)
    let rows: SettlementRow[]
    try {
      rows = readSettlementFile(request.body, { ...DEFAULT_MAPPING, ...stored.mapping })
    } catch (error) {
      if (error instanceof SettlementFileError) throw new Errors.BadShape(error.message)
      throw error
    }
    if (rows.length > MAX_FILE_LINES) throw new Errors.BadShape(`the file has ${rows.length} lines; at most ${MAX_FILE_LINES} in one import`)
    const importedAt = new Date(app.now())
    const importedBy = request.principal?.actor ?? 'anonymous'
    const fileSha256 = createHash('sha256').update(request.body).digest('hex')
    const report = await withTransaction(pool, async (tx) => {
      // two imports of one partner's files wait for each other: "paid twice" and "missing" read what the other books
      await lockHolder(tx, 'partner_cash', partner)
      const parcels = await selectPartnerParcels(tx, partner, rows.map((row) => row.trackingNumber).filter((number) => number !== ''))
      const results = matchSettlement(partner, reference, rows, parcels, importedAt)
      const fresh = new Set(await postEntries(tx, results.flatMap((result) => result.entry === null ? [] : [result.entry])))
      const lines: StoredLine[] = results.map(({ row, parcel, status, entry }) => {
        const booked = entry !== null && fresh.has(entry.key)
        const currency = row.paid?.currency ?? (isCurrency(row.currency) ? row.currency : null)
        const owed = parcel === null || parcel.partner !== partner ? null : parcel.expected
        // a line keeps one currency: what is owed in another is said in words
        const comparable = owed !== null && owed.currency === currency
        return {
          lineNo: row.line,
          trackingNumber: row.trackingNumber,
          parcelId: parcel?.id ?? null,
          deliveredAt: parcel === null || parcel.deliveredAt === null ? null : new Date(parcel.deliveredAt),
          // an entry the ledger already had was booked by an import before this one
          status: entry !== null && !booked ? 'already_imported' : status,
          currency,
          paid: row.paid?.minor ?? null,
          expected: comparable ? owed.minor : null,
          partnerRef: row.reference,
          problem: row.problem ?? (owed !== null && !comparable ? `owed ${formatAmount(owed)} ${owed.currency}, paid in ${currency ?? row.currency}` : null),
          ledgerKey: booked ? entry.key : null,
          booked
        }
      })
      const cutoff = cutoffOf(results)
      const missing = cutoff === null ? [] : await selectMissing(tx, partner, new Date(cutoff), lines.filter((l) => l.booked).map((l) => l.parcelId as string))
      const missingLines: StoredLine[] = missing.map((m) => ({
        lineNo: null, trackingNumber: m.trackingNumber, parcelId: m.parcelId, deliveredAt: m.deliveredAt, status: 'missing', currency: m.expected?.currency ?? null, paid: null, expected: m.expected?.minor ?? null, partnerRef: null, problem: null, ledgerKey: null, booked: false
      }))
      const record = await insertImport(tx, { partner, reference, importedAt, importedBy, fileSha256, cutoff: cutoff === null ? null : new Date(cutoff), summary: summaryOf(lines, missingLines) }, [...lines, ...missingLines])
      return { record, lines, missing }
    })
    void reply.code(201)
    return {
      import: importView(report.record),
      lines: report.lines.map(lineView),
      missing: report.missing.map((m) => ({ trackingNumber: m.trackingNumber, parcelId: m.parcelId, deliveredAt: m.deliveredAt, expected: m.expected === null ? null : money(m.expected.minor, m.expected.currency) }))
    }
  })

  app.get<{ Params: { partner: string }, Querystring: { limit: number } }>('/api/cash/partners/:partner/settlements', {
    config: { access: 'finance:read' },
    schema: {
      tags: ['finance'],
      summary: 'A partner\'s settlement file imports, newest first, with how their lines matched',
      ...ops,
      params: partnerParams,
      querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } } },
      response: { 200: listOf(importSchema) }
    }
  }, async (request) => {
    if (request.principal?.merchantId !== null) return { items: [] }
    return { items: (await selectImports(sql, request.params.partner, request.query.limit)).map(importView) }
  })

  app.get<{ Params: { partner: string, id: string } }>('/api/cash/partners/:partner/settlements/:id', {
    config: { access: 'finance:read' },
    schema: {
      tags: ['finance'],
      summary: 'One import of a partner\'s settlement file: each line\'s match, and the parcels it was missing',
      ...ops,
      params: { ...partnerParams, required: ['partner', 'id'], properties: { ...partnerParams.properties, id: { type: 'string', pattern: '^\\d{1,18}$' } } },
      response: { 200: reportSchema }
    }
  }, async (request) => {
    const found = request.principal?.merchantId !== null ? undefined : await selectImport(sql, request.params.partner, request.params.id)
    if (found === undefined) throw new Errors.NotFound('settlement import', request.params.id)
    const lines = await selectImportLines(sql, found.id)
    return {
      import: importView(found),
      lines: lines.filter((l) => l.status !== 'missing').map(lineView),
      missing: lines.filter((l) => l.status === 'missing').map((l) => ({
        trackingNumber: l.trackingNumber ?? '', parcelId: l.parcelId ?? '', deliveredAt: l.deliveredAt, expected: l.expected === null || l.currency === null ? null : money(l.expected, l.currency)
      }))
    }
  })
}

/** The client's id of what it sends: the Idempotency-Key header or the body's id (the same when both), else the fallback. */
function idempotencyKey (header: string | undefined, bodyId: string | undefined, fallback?: string): string {
  if (header !== undefined && bodyId !== undefined && header !== bodyId) throw new Errors.BadShape(`the Idempotency-Key header (${header}) and the id (${bodyId}) differ`)
  const id = header ?? bodyId ?? fallback
  if (id === undefined) throw new Errors.BadShape('send an Idempotency-Key header or an id, so that a retry is recorded once')
  return id
}

/** Amounts as sent, in minor units; one per currency. `positive`: zero is refused too. */
function moneyList (list: readonly MoneyIn[], what: string, positive: boolean): Money[] {
  const seen = new Set<string>()
  return list.map(({ currency, amount }) => {
    if (!isCurrency(currency)) throw new Errors.BadShape(`${what}: ${currency} is not an ISO 4217 currency`)
    if (seen.has(currency)) throw new Errors.BadShape(`${what}: ${currency} is named twice`)
    seen.add(currency)
    const parsed = parseAmount(amount, currency)
    if (parsed === null) throw new Errors.BadShape(`${what}: ${amount} is not an amount of ${currency} (at most its own decimals)`)
    if (positive && parsed.minor === 0n) throw new Errors.BadShape(`${what}: ${currency} 0 moves nothing`)
    return parsed
  })
}

function hashOf (value: Record<string, unknown>): string {
  const sorted = JSON.stringify(value, (_key, v: unknown) => typeof v === 'bigint' ? v.toString() : Array.isArray(v) && v.every((m) => typeof m === 'object' && m !== null && 'currency' in m)
    ? [...(v as Money[])].sort((a, b) => a.currency.localeCompare(b.currency))
    : v)
  return createHash('sha256').update(sorted).digest('hex')
}

function discrepancyDetail (handover: string, stationId: string, count: CountLine): { handover: string, stationId: string, currency: string } & Record<string, unknown> {
  const amount = (minor: bigint): string => formatAmount({ minor, currency: count.currency })
  return {
    handover,
    stationId,
    currency: count.currency,
    expected: amount(count.expected),
    declared: amount(count.declared),
    counted: amount(count.counted),
    difference: amount(differenceOf(count)),
    differenceMinor: differenceOf(count).toString(),
    findings: findingsOf(count)
  }
}

function handoverView (handover: StoredHandover): Record<string, unknown> {
  return {
    id: handover.id,
    driver: handover.driver,
    stationId: handover.stationId,
    time: handover.at,
    countedBy: handover.countedBy,
    recordedAt: handover.recordedAt,
    discrepancy: handover.lines.some((l) => findingsOf(l).length > 0),
    lines: handover.lines.map((l) => ({
      currency: l.currency,
      expected: money(l.expected, l.currency),
      declared: money(l.declared, l.currency),
      counted: money(l.counted, l.currency),
      difference: money(differenceOf(l), l.currency),
      findings: findingsOf(l)
    })),
    exceptionIds: handover.exceptionIds
  }
}

function depositView (deposit: StoredDeposit): Record<string, unknown> {
  return {
    id: deposit.id,
    stationId: deposit.stationId,
    reference: deposit.reference,
    time: deposit.at,
    recordedBy: deposit.recordedBy,
    recordedAt: deposit.recordedAt,
    amounts: deposit.amounts.map((m) => money(m.minor, m.currency))
  }
}

function mappingView (stored: StoredMapping): Record<string, unknown> {
  return { partner: stored.partner, mapping: stored.mapping, updatedAt: stored.updatedAt, updatedBy: stored.updatedBy }
}

function importView (record: StoredImport): Record<string, unknown> {
  return { ...record, summary: { ...record.summary, booked: record.summary.booked.map((b) => money(BigInt(b.minor), b.currency)) } }
}

function lineView (line: StoredLine): Record<string, unknown> {
  const of = (minor: bigint | null): ReturnType<typeof money> | null => minor === null || line.currency === null ? null : money(minor, line.currency)
  return {
    line: line.lineNo,
    trackingNumber: line.trackingNumber,
    parcelId: line.parcelId,
    status: line.status,
    paid: of(line.paid),
    expected: of(line.expected),
    difference: line.paid === null || line.expected === null ? null : of(line.paid - line.expected),
    partnerReference: line.partnerRef,
    problem: line.problem,
    booked: line.booked
  }
}

function summaryOf (lines: readonly StoredLine[], missing: readonly StoredLine[]): ImportSummary {
  const counts: Partial<Record<StoredLineStatus, number>> = {}
  for (const line of [...lines, ...missing]) counts[line.status] = (counts[line.status] ?? 0) + 1
  const booked = new Map<string, bigint>()
  for (const line of lines) if (line.booked && line.paid !== null && line.currency !== null) booked.set(line.currency, (booked.get(line.currency) ?? 0n) + line.paid)
  return { lines: lines.length, counts, booked: [...booked].sort(([a], [b]) => a.localeCompare(b)).map(([currency, minor]) => ({ currency, minor: minor.toString() })) }
}

export default cashHands
