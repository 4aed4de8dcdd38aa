import type { FxRate, PlannedBatch, RemittanceCandidate } from '../../ledger/remittance.js'
import type { Money } from '../../money/currency.js'
import type { Sql } from '../sql.js'

/** Remittance batches, their lines, the parcels waiting for one, and exchange rates (0024_remittances.sql). */

export type BatchState = 'created' | 'approved' | 'paid'

export interface StoredFxRate extends FxRate { id: string, createdAt: Date, createdBy: string }

interface FxRow { id: string, from_currency: string, to_currency: string, rate: string, valid_from: Date, created_at: Date, created_by: string }
const toRate = (row: FxRow): StoredFxRate =>
  ({ id: row.id, from: row.from_currency, to: row.to_currency, rate: row.rate, validFrom: row.valid_from, createdAt: row.created_at, createdBy: row.created_by })
const FX_COLUMNS = 'id::text, from_currency, to_currency, rate::text, valid_from, created_at, created_by'

/** Records a rate; one already there for that pair and moment is answered as it is (the caller compares). */
export async function insertFxRate (sql: Sql, rate: FxRate & { createdBy: string }): Promise<{ rate: StoredFxRate, created: boolean }> {
  const [inserted] = await sql.query<FxRow>(
    `INSERT INTO fx_rates (from_currency, to_currency, rate, valid_from, created_by) VALUES ($1, $2, $3::numeric, $4, $5)
     ON CONFLICT (from_currency, to_currency, valid_from) DO NOTHING RETURNING ${FX_COLUMNS}`,
    [rate.from, rate.to, rate.rate, rate.validFrom, rate.createdBy])
  if (inserted !== undefined) return { rate: toRate(inserted), created: true }
  const [existing] = await sql.query<FxRow>(
    `SELECT ${FX_COLUMNS} FROM fx_rates WHERE from_currency = $1 AND to_currency = $2 AND valid_from = $3`, [rate.from, rate.to, rate.validFrom])
  if (existing === undefined) throw new Error('fx rate vanished between insert and select')
  return { rate: toRate(existing), created: false }
}

/** Rates, newest first, optionally of one pair's side. */
export async function selectFxRates (sql: Sql, filter: { from?: string, to?: string, limit: number }): Promise<StoredFxRate[]> {
  return (await sql.query<FxRow>(
    `SELECT ${FX_COLUMNS} FROM fx_rates
      WHERE ($1::text IS NULL OR from_currency = $1) AND ($2::text IS NULL OR to_currency = $2)
      ORDER BY valid_from DESC, id DESC LIMIT $3`, [filter.from ?? null, filter.to ?? null, filter.limit])).map(toRate)
}

/** The rate in force at `at` for each pair into `to` (all targets when null). */
export async function selectRatesInForce (sql: Sql, to: string | null, at: Date): Promise<StoredFxRate[]> {
  return (await sql.query<FxRow>(
    `SELECT DISTINCT ON (from_currency, to_currency) ${FX_COLUMNS} FROM fx_rates
      WHERE ($1::text IS NULL OR to_currency = $1) AND valid_from <= $2
      ORDER BY from_currency, to_currency, valid_from DESC`, [to, at])).map(toRate)
}

/** Merchants with parcels waiting to be remitted. */
export async function selectMerchantsWithDue (sql: Sql): Promise<string[]> {
  return (await sql.query<{ merchant_id: string }>('SELECT DISTINCT merchant_id FROM remittance_due ORDER BY merchant_id')).map((row) => row.merchant_id)
}

/**
 * Serialises builds of one merchant's batches (for the caller's transaction): the lease already
 * keeps the scheduler on one instance, and this keeps a manual run beside it, or two instances
 * told to build at once, from reading the same candidates. The UNIQUE parcel line stays the guarantee.
 */
export async function lockMerchantRemittance (sql: Sql, merchantId: string): Promise<void> {
  await sql.query("SELECT pg_advisory_xact_lock(hashtext('trackstream:remittance'), hashtext($1))", [merchantId])
}

export interface QueuedParcel extends RemittanceCandidate { alreadyRemitted: boolean }

/** A merchant's parcels waiting for remittance, with what the plan needs of each. */
export async function selectQueuedParcels (sql: Sql, merchantId: string): Promise<QueuedParcel[]> {
  const rows = await sql.query<{ id: string, tracking_number: string, cod_currency: string | null, delivered_at: Date | null, returned_at: Date | null, collected: Array<{ currency: string, minor: string }>, remitted: boolean }>(
    // set-based, one pass over each table for the whole queue: a queue of 100,000 parcels right
    // after a bulk load (statistics not yet gathered) must not become 100,000 probes of each
    `WITH queued AS (
       SELECT q.parcel_id, p.tracking_number, p.cod_currency
         FROM remittance_due q JOIN parcels p ON p.id = q.parcel_id
        WHERE q.merchant_id = $1 AND p.merchant_id = $1
     ), moments AS (
       SELECT m.parcel_id, min(m.time) FILTER (WHERE m.code = 'delivered') AS delivered_at,
              min(m.time) FILTER (WHERE m.code = 'returned_to_sender') AS returned_at
         FROM milestones m JOIN queued USING (parcel_id)
        WHERE m.code IN ('delivered', 'returned_to_sender')
        GROUP BY m.parcel_id
     ), sums AS (
       SELECT e.parcel_id, l.currency, sum(l.amount) AS minor
         FROM ledger_entries e JOIN queued USING (parcel_id) JOIN ledger_lines l ON l.entry_id = e.id
        WHERE e.cause = 'collection' AND l.amount > 0
        GROUP BY e.parcel_id, l.currency
     ), collected AS (
       SELECT parcel_id, json_agg(json_build_object('currency', currency, 'minor', minor::text) ORDER BY currency) AS collected
         FROM sums GROUP BY parcel_id
     )
     SELECT q.parcel_id AS id, q.tracking_number, q.cod_currency, m.delivered_at, m.returned_at,
            coalesce(c.collected, '[]'::json) AS collected, r.parcel_id IS NOT NULL AS remitted
       FROM queued q
       LEFT JOIN moments m USING (parcel_id)
       LEFT JOIN collected c USING (parcel_id)
       LEFT JOIN remittance_lines r ON r.parcel_id = q.parcel_id`, [merchantId])
  return rows.map((row) => ({
    parcelId: row.id,
    trackingNumber: row.tracking_number,
    codCurrency: row.cod_currency,
    deliveredAt: row.delivered_at,
    returnedAt: row.returned_at,
    collected: row.collected.map((c): Money => ({ currency: c.currency, minor: BigInt(c.minor) })),
    alreadyRemitted: row.remitted
  }))
}

/** Takes parcels out of the queue: remitted now, or already (a collection or return that came after their batch). */
export async function dequeueParcels (sql: Sql, parcelIds: readonly string[]): Promise<void> {
  if (parcelIds.length === 0) return
  await sql.query('DELETE FROM remittance_due WHERE parcel_id = ANY($1::uuid[])', [parcelIds])
}

/** A batch and its lines; the UNIQUE parcel line makes a second batch of any of these parcels fail here. */
export async function insertBatch (sql: Sql, batch: { id: string, merchantId: string, cutoff: Date, createdAt: Date, createdBy: string }, plan: PlannedBatch): Promise<void> {
  const t = plan.totals
  await sql.query(
    `INSERT INTO remittance_batches (id, merchant_id, currency, cutoff, period_from, period_to, gross, fees, deductions, reversals, net, line_count, created_at, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
    [batch.id, batch.merchantId, plan.currency, batch.cutoff, plan.periodFrom, plan.periodTo, t.gross.toString(), t.fees.toString(),
      t.deductions.toString(), t.reversals.toString(), t.net.toString(), t.lines, batch.createdAt, batch.createdBy])
  const lines = plan.lines
  await sql.query(
    `INSERT INTO remittance_lines (batch_id, parcel_id, delivered_at, event_at, returned, cod_currency, cod_minor, fx_rate, gross, fee, deduction, reversal, net, detail)
     SELECT $1::uuid, * FROM unnest($2::uuid[], $3::timestamptz[], $4::timestamptz[], $5::boolean[], $6::text[], $7::bigint[], $8::numeric[],
                              $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::jsonb[])`,
    [batch.id, lines.map((l) => l.parcelId), lines.map((l) => l.deliveredAt), lines.map((l) => l.eventAt), lines.map((l) => l.returned),
      lines.map((l) => l.cod?.currency ?? null), lines.map((l) => (l.cod?.minor ?? 0n).toString()), lines.map((l) => l.rate),
      lines.map((l) => l.gross.toString()), lines.map((l) => l.fee.toString()), lines.map((l) => l.deduction.toString()),
      lines.map((l) => l.reversal.toString()), lines.map((l) => l.net.toString()),
      lines.map((l) => JSON.stringify({ codFee: l.codFee.toString(), fixedFee: l.fixedFee.toString(), shipping: l.shipping.toString(), returnCharge: l.returnCharge.toString() }))])
}

export interface StoredBatch {
  id: string
  merchantId: string
  currency: string
  state: BatchState
  cutoff: Date
  periodFrom: Date
  periodTo: Date
  gross: bigint
  fees: bigint
  deductions: bigint
  reversals: bigint
  net: bigint
  lineCount: number
  createdAt: Date
  createdBy: string
  approvedAt: Date | null
  approvedBy: string | null
  paidAt: Date | null
  paidBy: string | null
  bankReference: string | null
}

interface BatchRow {
  id: string, merchant_id: string, currency: string, state: BatchState, cutoff: Date, period_from: Date, period_to: Date,
  gross: string, fees: string, deductions: string, reversals: string, net: string, line_count: number,
  created_at: Date, created_by: string, approved_at: Date | null, approved_by: string | null, paid_at: Date | null, paid_by: string | null, bank_reference: string | null
}
const BATCH_COLUMNS = `id, merchant_id, currency, state, cutoff, period_from, period_to, gross::text, fees::text, deductions::text, reversals::text, net::text,
  line_count, created_at, created_by, approved_at, approved_by, paid_at, paid_by, bank_reference`
const toBatch = (row: BatchRow): StoredBatch => ({
  id: row.id,
  merchantId: row.merchant_id,
  currency: row.currency,
  state: row.state,
  cutoff: row.cutoff,
  periodFrom: row.period_from,
  periodTo: row.period_to,
  gross: BigInt(row.gross),
  fees: BigInt(row.fees),
  deductions: BigInt(row.deductions),
  reversals: BigInt(row.reversals),
  net: BigInt(row.net),
  lineCount: row.line_count,
  createdAt: row.created_at,
  createdBy: row.created_by,
  approvedAt: row.approved_at,
  approvedBy: row.approved_by,
  paidAt: row.paid_at,
  paidBy: row.paid_by,
  bankReference: row.bank_reference
})

/** Batches, newest first. */
export async function selectBatches (sql: Sql, filter: { merchantId: string | null, state: BatchState | null, limit: number }): Promise<StoredBatch[]> {
  return (await sql.query<BatchRow>(
    `SELECT ${BATCH_COLUMNS} FROM remittance_batches
      WHERE ($1::text IS NULL OR merchant_id = $1) AND ($2::text IS NULL OR state = $2)
      ORDER BY created_at DESC, id DESC LIMIT $3`, [filter.merchantId, filter.state, filter.limit])).map(toBatch)
}

export async function selectBatch (sql: Sql, id: string): Promise<StoredBatch | undefined> {
  const [row] = await sql.query<BatchRow>(`SELECT ${BATCH_COLUMNS} FROM remittance_batches WHERE id = $1`, [id])
  return row === undefined ? undefined : toBatch(row)
}

export interface StoredLine {
  parcelId: string
  trackingNumber: string
  deliveredAt: Date | null
  eventAt: Date
  returned: boolean
  cod: Money | null
  rate: string | null
  gross: bigint
  fee: bigint
  deduction: bigint
  reversal: bigint
  net: bigint
}

/** A batch's lines, in the order of their deliveries; the tracking number and nothing else of the parcel. */
export async function selectBatchLines (sql: Sql, batchId: string): Promise<StoredLine[]> {
  const rows = await sql.query<{ parcel_id: string, tracking_number: string, delivered_at: Date | null, event_at: Date, returned: boolean, cod_currency: string | null, cod_minor: string, fx_rate: string | null, gross: string, fee: string, deduction: string, reversal: string, net: string }>(
    `SELECT l.parcel_id, p.tracking_number, l.delivered_at, l.event_at, l.returned, l.cod_currency, l.cod_minor::text, l.fx_rate::text,
            l.gross::text, l.fee::text, l.deduction::text, l.reversal::text, l.net::text
       FROM remittance_lines l JOIN parcels p ON p.id = l.parcel_id
      WHERE l.batch_id = $1
      ORDER BY l.event_at, p.tracking_number`, [batchId])
  return rows.map((row) => ({
    parcelId: row.parcel_id,
    trackingNumber: row.tracking_number,
    deliveredAt: row.delivered_at,
    eventAt: row.event_at,
    returned: row.returned,
    cod: row.cod_currency === null ? null : { currency: row.cod_currency, minor: BigInt(row.cod_minor) },
    rate: row.fx_rate,
    gross: BigInt(row.gross),
    fee: BigInt(row.fee),
    deduction: BigInt(row.deduction),
    reversal: BigInt(row.reversal),
    net: BigInt(row.net)
  }))
}

/** created → approved; undefined when the batch is not there or not in 'created'. */
export async function approveBatch (sql: Sql, id: string, at: Date, by: string): Promise<StoredBatch | undefined> {
  const [row] = await sql.query<BatchRow>(
    `UPDATE remittance_batches SET state = 'approved', approved_at = $2, approved_by = $3 WHERE id = $1 AND state = 'created' RETURNING ${BATCH_COLUMNS}`,
    [id, at, by])
  return row === undefined ? undefined : toBatch(row)
}

/** approved → paid, with the bank's reference; undefined when the batch is not there or not approved. */
export async function markBatchPaid (sql: Sql, id: string, at: Date, by: string, bankReference: string): Promise<StoredBatch | undefined> {
  const [row] = await sql.query<BatchRow>(
    `UPDATE remittance_batches SET state = 'paid', paid_at = $2, paid_by = $3, bank_reference = $4 WHERE id = $1 AND state = 'approved' RETURNING ${BATCH_COLUMNS}`,
    [id, at, by, bankReference])
  return row === undefined ? undefined : toBatch(row)
}

/**
 * A remittance webhook event, in the caller's transaction (the outbox): delivered after commit,
 * after a crash too, to the operator's subscriptions and to the merchant's own (by merchant_id).
 */
export async function insertRemittanceEvent (sql: Sql, event: { id: string, type: 'remittance.created' | 'remittance.paid', merchantId: string, occurredAt: Date, payload: Record<string, unknown> }): Promise<void> {
  await sql.query(
    'INSERT INTO webhook_outbox (id, type, payload, parcel_id, merchant_id, occurred_at) VALUES ($1, $2, $3, NULL, $4, $5)',
    [event.id, event.type, JSON.stringify(event.payload), event.merchantId, event.occurredAt])
}
