import type { Sql } from '../sql.js'

export type KpiGrouping = 'day' | 'partner' | 'lane' | 'station'

export interface KpiRow {
  key: string
  currency: string
  parcels: number
  delivered: number
  promised: number
  onTime: number
  firstAttempt: number
  withException: number
  lost: number
  damaged: number
  codExpected: string
  codCollected: string
}

const GROUP_COLUMN: Record<KpiGrouping, string> = {
  day: "to_char(day, 'YYYY-MM-DD')",
  partner: 'partner',
  lane: 'lane',
  station: 'station_id'
}

/** kpi_daily summed over [from, to) by one dimension (and currency, which never mixes). */
export async function selectKpis (sql: Sql, query: { from: Date, to: Date, by: KpiGrouping }): Promise<KpiRow[]> {
  // the grouping column comes from the fixed map above, never from the request
  const key = GROUP_COLUMN[query.by]
  const rows = await sql.query<{
    key: string, currency: string, parcels: string, delivered: string, promised: string, on_time: string, first_attempt: string,
    with_exception: string, lost: string, damaged: string, cod_expected: string, cod_collected: string
  }>(
    `SELECT ${key} AS key, currency, sum(parcels) AS parcels, sum(delivered) AS delivered, sum(promised) AS promised,
            sum(on_time) AS on_time, sum(first_attempt) AS first_attempt, sum(with_exception) AS with_exception,
            sum(lost) AS lost, sum(damaged) AS damaged, sum(cod_expected)::numeric(16, 2)::text AS cod_expected,
            sum(cod_collected)::numeric(16, 2)::text AS cod_collected
       FROM kpi_daily
      WHERE day >= $1 AND day < $2
      GROUP BY 1, 2
      ORDER BY 1, 2`,
    [query.from, query.to])
  return rows.map((row) => ({
    key: row.key,
    currency: row.currency,
    parcels: Number(row.parcels),
    delivered: Number(row.delivered),
    promised: Number(row.promised),
    onTime: Number(row.on_time),
    firstAttempt: Number(row.first_attempt),
    withException: Number(row.with_exception),
    lost: Number(row.lost),
    damaged: Number(row.damaged),
    codExpected: row.cod_expected,
    codCollected: row.cod_collected
  }))
}

/** Plain PostgreSQL only: TimescaleDB keeps kpi_daily current itself. */
export async function refreshKpiView (sql: Sql): Promise<void> {
  await sql.exec('REFRESH MATERIALIZED VIEW CONCURRENTLY kpi_daily')
}
