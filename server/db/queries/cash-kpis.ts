import type { Sql } from '../sql.js'

export type CashKpiGrouping = 'merchant' | 'partner' | 'lane'

export interface CycleKpi {
  key: string
  parcels: number
  /** Hours from the delivery to each step, median and 95th percentile; null when no parcel got there. */
  toOperator: { p50: number | null, p95: number | null, parcels: number }
  toRemitted: { p50: number | null, p95: number | null, parcels: number }
  toPaid: { p50: number | null, p95: number | null, parcels: number }
}

const GROUPS: Record<CashKpiGrouping, string> = {
  merchant: "coalesce(p.merchant_id, '(operator)')",
  partner: "coalesce(p.last_mile_partner, '(none)')",
  lane: "coalesce(p.origin_country, '*') || '>' || p.dest_country"
}

/**
 * The cash cycle of COD parcels delivered in [from, to): delivered → cash at the operator (the
 * driver's first handover at a hub from the collection on, or the partner's settlement line for
 * the parcel) → in a remittance batch → paid to the merchant, in hours, per merchant, partner or
 * lane. One merchant's, or every one.
 */
export async function selectCashCycle (sql: Sql, from: Date, to: Date, by: CashKpiGrouping, merchantId: string | null): Promise<CycleKpi[]> {
  const rows = await sql.query<{
    key: string, parcels: number, op_n: number, op_p50: number | null, op_p95: number | null,
    rem_n: number, rem_p50: number | null, rem_p95: number | null, paid_n: number, paid_p50: number | null, paid_p95: number | null
  }>(
    `WITH collected AS (
       SELECT c.parcel_id, min(c.at) AS at, (array_agg(l.account ORDER BY c.at))[1] AS held_in, (array_agg(l.holder ORDER BY c.at))[1] AS holder
         FROM ledger_entries c JOIN ledger_lines l ON l.entry_id = c.id AND l.amount > 0
        WHERE c.cause = 'collection' AND c.at >= $1 AND c.at < $2
        GROUP BY c.parcel_id
     ), steps AS (
       SELECT ${GROUPS[by]} AS key, c.parcel_id,
              extract(epoch FROM (CASE c.held_in
                WHEN 'driver_cash' THEN (SELECT min(h.at) FROM cash_handovers h WHERE h.driver = c.holder AND h.at >= c.at)
                WHEN 'partner_cash' THEN (SELECT min(s.at) FROM ledger_entries s WHERE s.parcel_id = c.parcel_id AND s.cause = 'partner_settlement')
                WHEN 'provider' THEN c.at
              END) - c.at) / 3600 AS to_operator,
              extract(epoch FROM b.created_at - c.at) / 3600 AS to_remitted,
              extract(epoch FROM b.paid_at - c.at) / 3600 AS to_paid
         FROM collected c
         JOIN parcels p ON p.id = c.parcel_id
         LEFT JOIN remittance_lines r ON r.parcel_id = c.parcel_id
         LEFT JOIN remittance_batches b ON b.id = r.batch_id
        WHERE $3::text IS NULL OR p.merchant_id = $3
     )
     SELECT key, count(*)::int AS parcels,
            count(to_operator)::int AS op_n,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY to_operator) AS op_p50,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY to_operator) AS op_p95,
            count(to_remitted)::int AS rem_n,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY to_remitted) AS rem_p50,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY to_remitted) AS rem_p95,
            count(to_paid)::int AS paid_n,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY to_paid) AS paid_p50,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY to_paid) AS paid_p95
       FROM steps GROUP BY key ORDER BY key`,
    [from, to, merchantId])
  const hours = (value: number | null): number | null => value === null ? null : Math.round(value * 100) / 100
  return rows.map((row) => ({
    key: row.key,
    parcels: row.parcels,
    toOperator: { p50: hours(row.op_p50), p95: hours(row.op_p95), parcels: row.op_n },
    toRemitted: { p50: hours(row.rem_p50), p95: hours(row.rem_p95), parcels: row.rem_n },
    toPaid: { p50: hours(row.paid_p50), p95: hours(row.paid_p95), parcels: row.paid_n }
  }))
}

export interface DiscrepancyRate { by: 'driver' | 'station', key: string, handovers: number, withDiscrepancy: number, rate: number }

/** Handovers in [from, to) whose count did not come out even (or whose declaration differed), per driver and per hub. */
export async function selectHandoverDiscrepancyRates (sql: Sql, from: Date, to: Date): Promise<DiscrepancyRate[]> {
  const rows = await sql.query<{ by: 'driver' | 'station', key: string, handovers: number, off: number }>(
    `WITH judged AS (
       SELECT h.id, h.driver, h.station_id, bool_or(l.counted <> l.expected OR l.declared <> l.counted) AS off
         FROM cash_handovers h JOIN cash_handover_lines l ON l.handover_id = h.id
        WHERE h.at >= $1 AND h.at < $2
        GROUP BY h.id, h.driver, h.station_id
     )
     SELECT 'driver' AS by, driver AS key, count(*)::int AS handovers, count(*) FILTER (WHERE off)::int AS off FROM judged GROUP BY driver
     UNION ALL
     SELECT 'station', station_id, count(*)::int, count(*) FILTER (WHERE off)::int FROM judged GROUP BY station_id
     ORDER BY 1, 2`, [from, to])
  return rows.map((row) => ({ by: row.by, key: row.key, handovers: row.handovers, withDiscrepancy: row.off, rate: Math.round(row.off / row.handovers * 10_000) / 10_000 }))
}
