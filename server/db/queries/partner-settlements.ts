import type { LineStatus, PartnerMapping, PartnerParcel } from '../../ledger/partner-settlement.js'
import { parseAmount, type Money } from '../../money/currency.js'
import type { Sql } from '../sql.js'

/** Partners' settlement files: how to read each partner's, each import and what became of its lines (0025_cash_handovers.sql). */

export interface StoredMapping { partner: string, mapping: PartnerMapping, updatedAt: Date, updatedBy: string }

interface MappingRow { partner: string, mapping: PartnerMapping, updated_at: Date, updated_by: string }
const toMapping = (row: MappingRow): StoredMapping => ({ partner: row.partner, mapping: row.mapping, updatedAt: row.updated_at, updatedBy: row.updated_by })

export async function upsertMapping (sql: Sql, partner: string, mapping: PartnerMapping, updatedBy: string): Promise<StoredMapping> {
  const [row] = await sql.query<MappingRow>(
    `INSERT INTO partner_settlement_mappings (partner, mapping, updated_by) VALUES ($1, $2, $3)
     ON CONFLICT (partner) DO UPDATE SET mapping = EXCLUDED.mapping, updated_by = EXCLUDED.updated_by, updated_at = now()
     RETURNING partner, mapping, updated_at, updated_by`, [partner, JSON.stringify(mapping), updatedBy])
  if (row === undefined) throw new Error('upsert returned no row')
  return toMapping(row)
}

export async function selectMapping (sql: Sql, partner: string): Promise<StoredMapping | undefined> {
  const [row] = await sql.query<MappingRow>('SELECT partner, mapping, updated_at, updated_by FROM partner_settlement_mappings WHERE partner = $1', [partner])
  return row === undefined ? undefined : toMapping(row)
}

/** What a parcel's deliveries put into this partner's cash (ledger/door.ts), in its currency. */
const COLLECTED = `
LEFT JOIN LATERAL (
  SELECT l.currency, sum(l.amount)::text AS minor
    FROM ledger_lines l JOIN ledger_entries e ON e.id = l.entry_id
   WHERE l.parcel_id = p.id AND l.account = 'partner_cash' AND l.holder = $1 AND e.cause = 'collection'
   GROUP BY l.currency HAVING sum(l.amount) <> 0 ORDER BY sum(l.amount) DESC LIMIT 1) c ON true`

interface ExpectedRow { cod_amount: string | null, cod_currency: string | null, collected_currency: string | null, collected_minor: string | null }

/** What the partner owes for a parcel: what it collected as the ledger has it, else the parcel's COD. */
function expectedOf (row: ExpectedRow): Money | null {
  if (row.collected_currency !== null && row.collected_minor !== null) return { currency: row.collected_currency, minor: BigInt(row.collected_minor) }
  if (row.cod_amount === null || row.cod_currency === null) return null
  return parseAmount(row.cod_amount, row.cod_currency)
}

/** The parcels a file names, by tracking number, with what matching needs of each (any partner's: another's is "not ours"). */
export async function selectPartnerParcels (sql: Sql, partner: string, trackingNumbers: readonly string[]): Promise<Map<string, PartnerParcel>> {
  if (trackingNumbers.length === 0) return new Map()
  const rows = await sql.query<ExpectedRow & { id: string, tracking_number: string, last_mile_partner: string | null, merchant_id: string | null, delivered_at: Date | null, settled_by: string[] }>(
    `SELECT p.id, p.tracking_number, p.last_mile_partner, p.merchant_id, p.cod_amount::text, p.cod_currency,
            (SELECT min(m.time) FROM milestones m WHERE m.parcel_id = p.id AND m.code = 'delivered') AS delivered_at,
            c.currency AS collected_currency, c.minor AS collected_minor,
            (SELECT coalesce(array_agg(s.ledger_key), '{}') FROM partner_settlement_lines s
              WHERE s.partner = $1 AND s.parcel_id = p.id AND s.booked) AS settled_by
       FROM parcels p ${COLLECTED}
      WHERE p.tracking_number = ANY($2::text[])`, [partner, [...new Set(trackingNumbers)]])
  return new Map(rows.map((row) => [row.tracking_number, {
    id: row.id,
    trackingNumber: row.tracking_number,
    partner: row.last_mile_partner,
    merchantId: row.merchant_id,
    deliveredAt: row.delivered_at?.getTime() ?? null,
    expected: expectedOf(row),
    settledBy: row.settled_by
  }]))
}

export interface MissingParcel { parcelId: string, trackingNumber: string, deliveredAt: Date, expected: Money | null }

/**
 * The partner's parcels with COD, delivered before the cutoff, that no settlement line of its has
 * booked, leaving out those this import books (not stored yet).
 */
export async function selectMissing (sql: Sql, partner: string, cutoff: Date, booking: readonly string[]): Promise<MissingParcel[]> {
  const rows = await sql.query<ExpectedRow & { id: string, tracking_number: string, delivered_at: Date }>(
    `SELECT p.id, p.tracking_number, p.cod_amount::text, p.cod_currency, d.delivered_at,
            c.currency AS collected_currency, c.minor AS collected_minor
       FROM parcels p
       CROSS JOIN LATERAL (SELECT min(m.time) AS delivered_at FROM milestones m WHERE m.parcel_id = p.id AND m.code = 'delivered') d
       ${COLLECTED}
      WHERE p.last_mile_partner = $1 AND p.ended_at IS NOT NULL AND p.ended_at < $2 AND p.cod_amount > 0
        AND d.delivered_at < $2 AND p.id <> ALL($3::uuid[])
        AND NOT EXISTS (SELECT 1 FROM partner_settlement_lines s WHERE s.partner = $1 AND s.parcel_id = p.id AND s.booked)
      ORDER BY d.delivered_at, p.tracking_number`, [partner, cutoff, booking])
  return rows.map((row) => ({ parcelId: row.id, trackingNumber: row.tracking_number, deliveredAt: row.delivered_at, expected: expectedOf(row) }))
}

export type StoredLineStatus = LineStatus | 'missing'

export interface ImportSummary {
  lines: number
  counts: Partial<Record<StoredLineStatus, number>>
  /** What this import moved from the partner's cash to the bank, per currency, in minor units. */
  booked: Array<{ currency: string, minor: string }>
}

export interface StoredImport {
  id: string
  partner: string
  reference: string
  importedAt: Date
  importedBy: string
  fileSha256: string
  cutoff: Date | null
  summary: ImportSummary
}

export interface StoredLine {
  lineNo: number | null
  trackingNumber: string | null
  parcelId: string | null
  deliveredAt: Date | null
  status: StoredLineStatus
  currency: string | null
  paid: bigint | null
  expected: bigint | null
  partnerRef: string | null
  problem: string | null
  ledgerKey: string | null
  booked: boolean
}

interface ImportRow { id: string, partner: string, reference: string, imported_at: Date, imported_by: string, file_sha256: string, cutoff: Date | null, summary: ImportSummary }
const IMPORT_COLUMNS = 'id::text, partner, reference, imported_at, imported_by, file_sha256, cutoff, summary'
const toImport = (row: ImportRow): StoredImport => ({
  id: row.id, partner: row.partner, reference: row.reference, importedAt: row.imported_at, importedBy: row.imported_by, fileSha256: row.file_sha256, cutoff: row.cutoff, summary: row.summary
})

/** Records an import and its lines, in one statement. */
export async function insertImport (sql: Sql, record: Omit<StoredImport, 'id'>, lines: readonly StoredLine[]): Promise<StoredImport> {
  const text = (value: bigint | null): string | null => value === null ? null : value.toString()
  const [row] = await sql.query<ImportRow>(
    `WITH i AS (
       INSERT INTO partner_settlement_imports (partner, reference, imported_at, imported_by, file_sha256, cutoff, summary)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       RETURNING ${IMPORT_COLUMNS}
     ), l AS (
       INSERT INTO partner_settlement_lines (import_id, partner, line_no, tracking_number, parcel_id, delivered_at, status, currency, paid, expected, partner_ref, problem, ledger_key, booked)
       SELECT i.id::bigint, $1, t.line_no, t.tracking_number, t.parcel_id, t.delivered_at, t.status, t.currency, t.paid, t.expected, t.partner_ref, t.problem, t.ledger_key, t.booked
         FROM i, unnest($8::int[], $9::text[], $10::uuid[], $11::timestamptz[], $12::text[], $13::text[], $14::bigint[], $15::bigint[], $16::text[], $17::text[], $18::text[], $19::boolean[])
           AS t(line_no, tracking_number, parcel_id, delivered_at, status, currency, paid, expected, partner_ref, problem, ledger_key, booked)
     )
     SELECT * FROM i`,
    [record.partner, record.reference, record.importedAt, record.importedBy, record.fileSha256, record.cutoff, JSON.stringify(record.summary),
      lines.map((l) => l.lineNo), lines.map((l) => l.trackingNumber), lines.map((l) => l.parcelId), lines.map((l) => l.deliveredAt), lines.map((l) => l.status),
      lines.map((l) => l.currency), lines.map((l) => text(l.paid)), lines.map((l) => text(l.expected)), lines.map((l) => l.partnerRef),
      lines.map((l) => l.problem), lines.map((l) => l.ledgerKey), lines.map((l) => l.booked)])
  if (row === undefined) throw new Error('insert returned no import')
  return toImport(row)
}

/** A partner's imports, newest first. */
export async function selectImports (sql: Sql, partner: string, limit: number): Promise<StoredImport[]> {
  return (await sql.query<ImportRow>(
    `SELECT ${IMPORT_COLUMNS} FROM partner_settlement_imports WHERE partner = $1 ORDER BY imported_at DESC, id DESC LIMIT $2`, [partner, limit])).map(toImport)
}

export async function selectImport (sql: Sql, partner: string, id: string): Promise<StoredImport | undefined> {
  const [row] = await sql.query<ImportRow>(`SELECT ${IMPORT_COLUMNS} FROM partner_settlement_imports WHERE partner = $1 AND id = $2`, [partner, id])
  return row === undefined ? undefined : toImport(row)
}

/** An import's lines in the file's order, then the parcels it was missing. */
export async function selectImportLines (sql: Sql, importId: string): Promise<StoredLine[]> {
  const rows = await sql.query<{ line_no: number | null, tracking_number: string | null, parcel_id: string | null, delivered_at: Date | null, status: StoredLineStatus, currency: string | null, paid: string | null, expected: string | null, partner_ref: string | null, problem: string | null, ledger_key: string | null, booked: boolean }>(
    `SELECT line_no, tracking_number, parcel_id, delivered_at, status, currency, paid::text, expected::text, partner_ref, problem, ledger_key, booked
       FROM partner_settlement_lines WHERE import_id = $1 ORDER BY line_no NULLS LAST, tracking_number`, [importId])
  return rows.map((row) => ({
    lineNo: row.line_no,
    trackingNumber: row.tracking_number,
    parcelId: row.parcel_id,
    deliveredAt: row.delivered_at,
    status: row.status,
    currency: row.currency,
    paid: row.paid === null ? null : BigInt(row.paid),
    expected: row.expected === null ? null : BigInt(row.expected),
    partnerRef: row.partner_ref,
    problem: row.problem,
    ledgerKey: row.ledger_key,
    booked: row.booked
  }))
}
