import { randomUUID } from 'node:crypto'
import type pg from 'pg'
import { batchEntries, payoutEntry, planRemittance, type LeftOut, type RemittanceTotals } from '../ledger/remittance.js'
import { moneyView as money } from '../money/currency.js'
import { postEntries } from './queries/ledger.js'
import { selectSettlements } from './queries/merchant-settlement.js'
import {
  dequeueParcels, insertBatch, insertRemittanceEvent, lockMerchantRemittance, markBatchPaid, selectBatch,
  selectMerchantsWithDue, selectQueuedParcels, selectRatesInForce, type StoredBatch
} from './queries/remittances.js'
import { isUniqueViolation, pgSql, withTransaction, type Sql } from './sql.js'

export interface BuiltBatch { id: string, merchantId: string, currency: string, totals: RemittanceTotals }

export interface BuildReport {
  built: BuiltBatch[]
  /** Due, but left out of the batch (no exchange rate for its currency, …): tried again next time. */
  leftOut: Array<LeftOut & { merchantId: string }>
  /** Waiting for their cycle. */
  notDue: number
  /** Collected or returned again after they were remitted: not paid twice, and not reversed either (not handled yet). */
  alreadyRemitted: Array<{ merchantId: string, parcelId: string, trackingNumber: string }>
  /** Merchants whose build failed (logged by the caller), each left as it was. */
  failed: Array<{ merchantId: string, error: string }>
}

/**
 * Builds every due batch (of one merchant, or of all with parcels waiting), one transaction per
 * merchant: the batch, its lines, its ledger entries and its `remittance.created` outbox event are
 * durable together or not at all, so a crash leaves either nothing (built again next time) or a
 * batch whose webhook the dispatcher sends after the restart.
 *
 * Exactly once per parcel: remittance_lines.parcel_id is UNIQUE, so a second builder's transaction
 * fails whatever it read; builders of one merchant also wait for each other (an advisory lock
 * for the transaction), so that one that lost the race reads again and finds nothing left rather
 * than failing. A unique violation all the same (someone wrote lines without the lock) is retried once.
 */
export async function buildDueRemittances (pool: pg.Pool, { now, actor, merchantId }: { now: number, actor: string, merchantId?: string }): Promise<BuildReport> {
  const report: BuildReport = { built: [], leftOut: [], notDue: 0, alreadyRemitted: [], failed: [] }
  const waiting = await selectMerchantsWithDue(pgSql(pool))
  for (const merchant of waiting.filter((m) => merchantId === undefined || m === merchantId)) {
    for (let attempt = 1; ; attempt++) {
      try {
        const part = await withTransaction(pool, async (sql) => await buildMerchant(sql, merchant, new Date(now), actor))
        report.built.push(...part.built)
        report.leftOut.push(...part.leftOut)
        report.notDue += part.notDue
        report.alreadyRemitted.push(...part.alreadyRemitted)
        break
      } catch (error) {
        if (isUniqueViolation(error) && attempt < 2) continue
        report.failed.push({ merchantId: merchant, error: error instanceof Error ? error.message : String(error) })
        break
      }
    }
  }
  return report
}

async function buildMerchant (sql: Sql, merchantId: string, now: Date, actor: string): Promise<Omit<BuildReport, 'failed'>> {
  await lockMerchantRemittance(sql, merchantId)
  const [settlement] = await selectSettlements(sql, merchantId)
  const queued = await selectQueuedParcels(sql, merchantId)
  const done = queued.filter((parcel) => parcel.alreadyRemitted)
  const open = queued.filter((parcel) => !parcel.alreadyRemitted)
  const result: Omit<BuildReport, 'failed'> = {
    built: [],
    leftOut: [],
    notDue: 0,
    alreadyRemitted: done.map((parcel) => ({ merchantId, parcelId: parcel.parcelId, trackingNumber: parcel.trackingNumber }))
  }
  if (settlement === undefined) return result
  const rates = open.length === 0 ? [] : await selectRatesInForce(sql, settlement.currency, now)
  const plan = planRemittance(settlement, open, rates, now)
  result.notDue = plan.notDue.length
  result.leftOut = plan.leftOut.map((left) => ({ ...left, merchantId }))
  for (const batch of plan.batches) {
    const id = randomUUID()
    await insertBatch(sql, { id, merchantId, cutoff: now, createdAt: now, createdBy: actor }, batch)
    await postEntries(sql, batchEntries(id, merchantId, batch, now))
    const stored = await selectBatch(sql, id) as StoredBatch
    await insertRemittanceEvent(sql, { ...eventOf('remittance.created', stored, now), merchantId })
    result.built.push({ id, merchantId, currency: batch.currency, totals: batch.totals })
  }
  await dequeueParcels(sql, [...done, ...plan.batches.flatMap((batch) => batch.lines)].map((parcel) => parcel.parcelId))
  return result
}

export type PayOutcome = { kind: 'paid', batch: StoredBatch } | { kind: 'missing' } | { kind: 'wrong_state', state: StoredBatch['state'] }

/**
 * approved → paid, in one transaction with the payout's ledger entry (`remittance-paid:<batch>`:
 * the net out of the merchant's payable and out of the bank) and the
 * `remittance.paid` outbox event. A batch already paid is refused, so nothing is paid twice.
 */
export async function payBatch (pool: pg.Pool, { id, now, actor, bankReference }: { id: string, now: number, actor: string, bankReference: string }): Promise<PayOutcome> {
  return await withTransaction(pool, async (sql): Promise<PayOutcome> => {
    const at = new Date(now)
    const paid = await markBatchPaid(sql, id, at, actor, bankReference)
    if (paid === undefined) {
      const found = await selectBatch(sql, id)
      return found === undefined ? { kind: 'missing' } : { kind: 'wrong_state', state: found.state }
    }
    const payout = payoutEntry(id, paid.merchantId, paid.currency, paid.net, at, bankReference)
    if (payout !== null) await postEntries(sql, [payout])
    await insertRemittanceEvent(sql, { ...eventOf('remittance.paid', paid, at), merchantId: paid.merchantId })
    return { kind: 'paid', batch: paid }
  })
}


/**
 * A remittance webhook: the batch's totals and how many lines, for the merchant's books; never a
 * buyer's name, address or phone (GET /api/remittances/{id} and its statement have the lines).
 */
export function remittancePayload (batch: StoredBatch): Record<string, unknown> {
  return {
    id: batch.id,
    merchantId: batch.merchantId,
    state: batch.state,
    currency: batch.currency,
    cutoff: batch.cutoff.toISOString(),
    periodFrom: batch.periodFrom.toISOString(),
    periodTo: batch.periodTo.toISOString(),
    lines: batch.lineCount,
    gross: money(batch.gross, batch.currency),
    fees: money(batch.fees, batch.currency),
    deductions: money(batch.deductions, batch.currency),
    reversals: money(batch.reversals, batch.currency),
    net: money(batch.net, batch.currency),
    bankReference: batch.bankReference,
    paidAt: batch.paidAt?.toISOString() ?? null
  }
}

function eventOf (type: 'remittance.created' | 'remittance.paid', batch: StoredBatch, at: Date): { id: string, type: typeof type, occurredAt: Date, payload: Record<string, unknown> } {
  const id = randomUUID()
  return { id, type, occurredAt: at, payload: { id, type, occurredAt: at.toISOString(), remittance: remittancePayload(batch) } }
}
