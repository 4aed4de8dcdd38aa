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

/** Plain PostgreSQL's KPI refreshes, one at a time across every instance: the transaction holds it. */
const KPI_REFRESH_LOCK = 7_130_002

/** Plain PostgreSQL only (TimescaleDB keeps kpi_daily current itself); in a transaction, before the rest. */
export async function lockKpiRefresh (sql: Sql): Promise<void> {
  await sql.query('SELECT pg_advisory_xact_lock($1)', [KPI_REFRESH_LOCK])
}

/** The days parcel_outcomes' writes noted since the last refresh, taken: committed with the recount, or given back. */
export async function takeTouchedKpiDays (sql: Sql): Promise<Date[]> {
  const rows = await sql.query<{ day: Date }>(
    'WITH taken AS (DELETE FROM kpi_days_touched RETURNING day) SELECT DISTINCT day FROM taken')
  return rows.map((row) => row.day)
}

/** What kpi_daily held for those days, before they are counted again. */
export async function deleteKpiDays (sql: Sql, days: readonly Date[]): Promise<void> {
  await sql.query('DELETE FROM kpi_daily WHERE day = ANY($1::timestamptz[])', [days])
}

/** Counts those days from their outcomes (UTC days: 24 hours, whatever the session's time zone). */
export async function insertKpiDays (sql: Sql, days: readonly Date[]): Promise<void> {
  await sql.query(
    `INSERT INTO kpi_daily
     SELECT d.day, o.partner, o.lane, o.station_id, o.currency,
            count(*), count(*) FILTER (WHERE o.outcome = 'delivered'),
            count(*) FILTER (WHERE o.outcome = 'delivered' AND o.on_time IS NOT NULL),
            count(*) FILTER (WHERE o.outcome = 'delivered' AND o.on_time),
            count(*) FILTER (WHERE o.outcome = 'delivered' AND o.attempts = 0),
            count(*) FILTER (WHERE o.had_exception), count(*) FILTER (WHERE o.outcome = 'lost'),
            count(*) FILTER (WHERE o.damaged), sum(o.cod_expected), sum(o.cod_collected)
       FROM unnest($1::timestamptz[]) AS d (day)
       JOIN parcel_outcomes o ON o.time >= d.day AND o.time < d.day + INTERVAL '24 hours'
      GROUP BY 1, 2, 3, 4, 5`,
    [days])
}
