import type { CodParcel } from '../../ledger/door.js'
import type { Account, LedgerEntry } from '../../ledger/entries.js'
import type { Owing } from '../../ledger/returns.js'
import type { Sql } from '../sql.js'

/**
 * Records entries once each, by key, with their lines, in one statement: an entry whose key is
 * already there (a redelivered milestone, a retried request, another instance) adds nothing. The
 * database refuses one that does not balance at commit (0023_cash_ledger.sql). Answers the keys
 * that were new.
 */
export async function postEntries (sql: Sql, entries: readonly LedgerEntry[]): Promise<string[]> {
  if (entries.length === 0) return []
  const lines = entries.flatMap((entry) => entry.lines.map((line) => ({ key: entry.key, ...line })))
  const rows = await sql.query<{ key: string }>(
    `WITH input AS (
       SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::uuid[], $6::text[], $7::jsonb[])
         AS t(key, at, cause, cause_ref, parcel_id, merchant_id, detail)
     ), inserted AS (
       INSERT INTO ledger_entries (key, at, cause, cause_ref, parcel_id, merchant_id, detail)
       SELECT key, at, cause, cause_ref, parcel_id, merchant_id, detail FROM input
       ON CONFLICT (key) DO NOTHING
       RETURNING id, key
     ), lines AS (
       INSERT INTO ledger_lines (entry_id, account, holder, currency, amount, parcel_id)
       SELECT i.id, l.account, l.holder, l.currency, l.amount, l.parcel_id
         FROM unnest($8::text[], $9::text[], $10::text[], $11::text[], $12::bigint[], $13::uuid[]) AS l(key, account, holder, currency, amount, parcel_id)
         JOIN inserted i ON i.key = l.key
     )
     SELECT key FROM inserted`,
    [entries.map((e) => e.key), entries.map((e) => e.at), entries.map((e) => e.cause), entries.map((e) => e.causeRef),
      entries.map((e) => e.parcelId), entries.map((e) => e.merchantId), entries.map((e) => JSON.stringify(e.detail)),
      lines.map((l) => l.key), lines.map((l) => l.account), lines.map((l) => l.holder), lines.map((l) => l.money.currency),
      lines.map((l) => l.money.minor.toString()), lines.map((l) => l.parcelId)])
  return rows.map((row) => row.key)
}

export interface Balance { account: Account, holder: string, currency: string, minor: bigint, since: Date | null }

/** Balances per account, holder and currency, optionally of one account; zero balances left out. `since`: the oldest entry still in it. */
export async function selectBalances (sql: Sql, account?: Account): Promise<Balance[]> {
  const rows = await sql.query<{ account: Account, holder: string, currency: string, minor: string, since: Date | null }>(
    `SELECT l.account, l.holder, l.currency, sum(l.amount)::text AS minor, min(e.at) AS since
       FROM ledger_lines l JOIN ledger_entries e ON e.id = l.entry_id
      WHERE $1::text IS NULL OR l.account = $1
      GROUP BY l.account, l.holder, l.currency
     HAVING sum(l.amount) <> 0
      ORDER BY l.account, l.holder, l.currency`, [account ?? null])
  return rows.map((row) => ({ ...row, minor: BigInt(row.minor) }))
}

export interface StoredEntry extends Omit<LedgerEntry, 'lines'> { id: string, lines: Array<{ account: Account, holder: string, currency: string, minor: bigint, parcelId: string | null }> }

/** A parcel's entries in the order they happened, with their lines. */
export async function selectParcelEntries (sql: Sql, parcelId: string): Promise<StoredEntry[]> {
  const rows = await sql.query<{ id: string, key: string, at: Date, cause: LedgerEntry['cause'], cause_ref: string | null, parcel_id: string | null, merchant_id: string | null, detail: Record<string, unknown>, lines: Array<{ account: Account, holder: string, currency: string, amount: string, parcel_id: string | null }> }>(
    `SELECT e.id::text, e.key, e.at, e.cause, e.cause_ref, e.parcel_id, e.merchant_id, e.detail,
            json_agg(json_build_object('account', l.account, 'holder', l.holder, 'currency', l.currency, 'amount', l.amount::text, 'parcel_id', l.parcel_id)) AS lines
       FROM ledger_entries e JOIN ledger_lines l ON l.entry_id = e.id
      WHERE e.parcel_id = $1 OR l.parcel_id = $1
      GROUP BY e.id ORDER BY e.at, e.id`, [parcelId])
  return rows.map((row) => ({
    id: row.id,
    key: row.key,
    at: row.at,
    cause: row.cause,
    causeRef: row.cause_ref,
    parcelId: row.parcel_id,
    merchantId: row.merchant_id,
    detail: row.detail,
    lines: row.lines.map((l) => ({ account: l.account, holder: l.holder, currency: l.currency, minor: BigInt(l.amount), parcelId: l.parcel_id }))
  }))
}

/** What the ledger needs of these parcels to book the cash their milestones speak of. */
export async function selectCodParcels (sql: Sql, ids: readonly string[]): Promise<Map<string, CodParcel>> {
  const rows = await sql.query<{ id: string, merchant_id: string | null, cod_amount: string | null, cod_currency: string | null, last_mile_partner: string | null }>(
    'SELECT id, merchant_id, cod_amount::text, cod_currency, last_mile_partner FROM parcels WHERE id = ANY($1::uuid[])', [ids])
  return new Map(rows.map((row) => [row.id, { id: row.id, merchantId: row.merchant_id, codAmount: row.cod_amount, codCurrency: row.cod_currency, partner: row.last_mile_partner }]))
}

export interface Discrepancy { parcelId: string, trackingNumber: string, merchantId: string | null, currency: string, owingMinor: bigint, since: Date }

/** Parcels whose buyer's COD does not come out even once collected: paid short (owing > 0) or over (< 0). */
export async function selectDoorDiscrepancies (sql: Sql, merchantId: string | null, limit: number): Promise<Discrepancy[]> {
  const rows = await sql.query<{ parcel_id: string, tracking_number: string, merchant_id: string | null, currency: string, owing: string, since: Date }>(
    `SELECT l.parcel_id, p.tracking_number, p.merchant_id, l.currency, sum(l.amount)::text AS owing, max(e.at) AS since
       FROM ledger_lines l JOIN ledger_entries e ON e.id = l.entry_id JOIN parcels p ON p.id = l.parcel_id
      WHERE l.account = 'cod_due' AND ($1::text IS NULL OR p.merchant_id = $1)
        AND EXISTS (SELECT 1 FROM ledger_entries c WHERE c.parcel_id = l.parcel_id AND c.cause = 'collection')
      GROUP BY l.parcel_id, p.tracking_number, p.merchant_id, l.currency
     HAVING sum(l.amount) <> 0
      ORDER BY max(e.at) DESC LIMIT $2`, [merchantId, limit])
  return rows.map((row) => ({ parcelId: row.parcel_id, trackingNumber: row.tracking_number, merchantId: row.merchant_id, currency: row.currency, owingMinor: BigInt(row.owing), since: row.since }))
}

/** What the buyers of these parcels still owe at the door, per currency, with each parcel's merchant. */
export async function selectOwing (sql: Sql, parcelIds: readonly string[]): Promise<Owing[]> {
  const rows = await sql.query<{ parcel_id: string, merchant_id: string | null, currency: string, minor: string }>(
    `SELECT l.parcel_id, p.merchant_id, l.currency, sum(l.amount)::text AS minor
       FROM ledger_lines l JOIN parcels p ON p.id = l.parcel_id
      WHERE l.account = 'cod_due' AND l.parcel_id = ANY($1::uuid[])
      GROUP BY l.parcel_id, p.merchant_id, l.currency HAVING sum(l.amount) <> 0`, [parcelIds])
  return rows.map((row) => ({ parcelId: row.parcel_id, merchantId: row.merchant_id, currency: row.currency, minor: BigInt(row.minor) }))
}
