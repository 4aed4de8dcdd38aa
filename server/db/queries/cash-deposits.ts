import type { Money } from '../../money/currency.js'
import type { Sql } from '../sql.js'

/** A hub's bank deposit, as recorded (0025_cash_handovers.sql). */
export interface StoredDeposit {
  id: string
  stationId: string
  reference: string
  at: Date
  recordedBy: string
  requestHash: string
  recordedAt: Date
  amounts: Money[]
}

interface DepositRow {
  id: string
  station_id: string
  reference: string
  at: Date
  recorded_by: string
  request_hash: string
  recorded_at: Date
  amounts: Array<{ currency: string, amount: string }> | null
}

const SELECT_DEPOSITS = `
SELECT d.id, d.station_id, d.reference, d.at, d.recorded_by, d.request_hash, d.recorded_at,
       (SELECT json_agg(json_build_object('currency', l.currency, 'amount', l.amount::text) ORDER BY l.currency)
          FROM cash_deposit_lines l WHERE l.deposit_id = d.id) AS amounts
  FROM cash_deposits d`

const toDeposit = (row: DepositRow): StoredDeposit => ({
  id: row.id,
  stationId: row.station_id,
  reference: row.reference,
  at: row.at,
  recordedBy: row.recorded_by,
  requestHash: row.request_hash,
  recordedAt: row.recorded_at,
  amounts: (row.amounts ?? []).map((l) => ({ currency: l.currency, minor: BigInt(l.amount) }))
})

/** The deposit with this id, or the one of this hub with this bank reference. */
export async function selectDepositByIdOrReference (sql: Sql, id: string, stationId: string, reference: string): Promise<StoredDeposit | undefined> {
  const [row] = await sql.query<DepositRow>(`${SELECT_DEPOSITS} WHERE d.id = $1 OR (d.station_id = $2 AND d.reference = $3) ORDER BY d.id = $1 DESC LIMIT 1`, [id, stationId, reference])
  return row === undefined ? undefined : toDeposit(row)
}

export async function selectDeposits (sql: Sql, filter: { stationId?: string, limit: number }): Promise<StoredDeposit[]> {
  const rows = await sql.query<DepositRow>(
    `${SELECT_DEPOSITS} WHERE $1::text IS NULL OR d.station_id = $1 ORDER BY d.at DESC, d.recorded_at DESC LIMIT $2`, [filter.stationId ?? null, filter.limit])
  return rows.map(toDeposit)
}

/** Records a deposit with its amounts, in one statement. */
export async function insertDeposit (sql: Sql, deposit: Omit<StoredDeposit, 'recordedAt'>): Promise<void> {
  await sql.query(
    `WITH d AS (
       INSERT INTO cash_deposits (id, station_id, reference, at, recorded_by, request_hash)
       VALUES ($1, $2, $3, $4, $5, $6)
       RETURNING id
     )
     INSERT INTO cash_deposit_lines (deposit_id, currency, amount)
     SELECT d.id, t.currency, t.amount FROM d, unnest($7::text[], $8::bigint[]) AS t(currency, amount)`,
    [deposit.id, deposit.stationId, deposit.reference, deposit.at, deposit.recordedBy, deposit.requestHash,
      deposit.amounts.map((m) => m.currency), deposit.amounts.map((m) => m.minor.toString())])
}

export async function selectStationExists (sql: Sql, stationId: string): Promise<boolean> {
  const [row] = await sql.query<{ found: boolean }>('SELECT EXISTS (SELECT 1 FROM stations WHERE id = $1) AS found', [stationId])
  return row?.found ?? false
}
