import type { Sql } from '../sql.js'

export interface CodTotal {
  currency: string
  /** Parcels with an outcome in the window that had cash to collect. */
  parcels: number
  /** Decimal strings, exact: numeric in PostgreSQL, never a float on the way. */
  expected: string
  collected: string
  outstanding: string
}

/** Cash on delivery by currency, for parcels whose outcome fell in [from, to); one merchant's or all. */
export async function selectCodTotals (sql: Sql, from: Date, to: Date, merchantId: string | null): Promise<CodTotal[]> {
  return await sql.query<CodTotal>(
    `SELECT o.currency, count(*)::int AS parcels,
            sum(o.cod_expected)::text AS expected, sum(o.cod_collected)::text AS collected,
            greatest(sum(o.cod_expected) - sum(o.cod_collected), 0)::text AS outstanding
       FROM parcel_outcomes o JOIN parcels p ON p.id = o.parcel_id
      WHERE o.time >= $1 AND o.time < $2 AND o.currency <> '' AND ($3::text IS NULL OR p.merchant_id = $3)
      GROUP BY o.currency ORDER BY o.currency`,
    [from, to, merchantId])
}
