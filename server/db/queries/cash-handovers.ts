import type { CountLine } from '../../ledger/handover.js'
import type { Sql } from '../sql.js'

/** A driver's handover at a hub, as recorded (0025_cash_handovers.sql). */
export interface StoredHandover {
  id: string
  driver: string
  stationId: string
  at: Date
  countedBy: string
  requestHash: string
  recordedAt: Date
  lines: CountLine[]
  /** The cash_discrepancy exceptions it raised. */
  exceptionIds: string[]
}

interface HandoverRow {
  id: string
  driver: string
  station_id: string
  at: Date
  counted_by: string
  request_hash: string
  recorded_at: Date
  lines: Array<{ currency: string, expected: string, declared: string, counted: string }> | null
  exception_ids: string[] | null
}

const SELECT_HANDOVERS = `
SELECT h.id, h.driver, h.station_id, h.at, h.counted_by, h.request_hash, h.recorded_at,
       (SELECT json_agg(json_build_object('currency', l.currency, 'expected', l.expected::text, 'declared', l.declared::text, 'counted', l.counted::text) ORDER BY l.currency)
          FROM cash_handover_lines l WHERE l.handover_id = h.id) AS lines,
       (SELECT array_agg(e.id::text ORDER BY e.id) FROM exceptions e
         WHERE e.kind = 'cash_discrepancy' AND e.detail->>'handover' = h.id) AS exception_ids
  FROM cash_handovers h`

const toHandover = (row: HandoverRow): StoredHandover => ({
  id: row.id,
  driver: row.driver,
  stationId: row.station_id,
  at: row.at,
  countedBy: row.counted_by,
  requestHash: row.request_hash,
  recordedAt: row.recorded_at,
  lines: (row.lines ?? []).map((l) => ({ currency: l.currency, expected: BigInt(l.expected), declared: BigInt(l.declared), counted: BigInt(l.counted) })),
  exceptionIds: row.exception_ids ?? []
})

export async function selectHandover (sql: Sql, id: string): Promise<StoredHandover | undefined> {
  const [row] = await sql.query<HandoverRow>(`${SELECT_HANDOVERS} WHERE h.id = $1`, [id])
  return row === undefined ? undefined : toHandover(row)
}

/** Handovers newest first, of a driver, at a hub, or all. */
export async function selectHandovers (sql: Sql, filter: { driver?: string, stationId?: string, limit: number }): Promise<StoredHandover[]> {
  const rows = await sql.query<HandoverRow>(
    `${SELECT_HANDOVERS}
      WHERE ($1::text IS NULL OR h.driver = $1) AND ($2::text IS NULL OR h.station_id = $2)
      ORDER BY h.at DESC, h.recorded_at DESC LIMIT $3`, [filter.driver ?? null, filter.stationId ?? null, filter.limit])
  return rows.map(toHandover)
}

/** Records a handover with its lines, in one statement; false when its id is already taken (then nothing is written). */
export async function insertHandover (sql: Sql, handover: Omit<StoredHandover, 'recordedAt' | 'exceptionIds'>): Promise<boolean> {
  const [row] = await sql.query<{ inserted: number }>(
    `WITH h AS (
       INSERT INTO cash_handovers (id, driver, station_id, at, counted_by, request_hash)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (id) DO NOTHING
       RETURNING id
     ), l AS (
       INSERT INTO cash_handover_lines (handover_id, currency, expected, declared, counted)
       SELECT h.id, t.currency, t.expected, t.declared, t.counted
         FROM h, unnest($7::text[], $8::bigint[], $9::bigint[], $10::bigint[]) AS t(currency, expected, declared, counted)
     )
     SELECT count(*)::int AS inserted FROM h`,
    [handover.id, handover.driver, handover.stationId, handover.at, handover.countedBy, handover.requestHash,
      handover.lines.map((l) => l.currency), handover.lines.map((l) => l.expected.toString()),
      handover.lines.map((l) => l.declared.toString()), handover.lines.map((l) => l.counted.toString())])
  return (row?.inserted ?? 0) === 1
}

export interface CashDiscrepancy {
  /** The driver's device: the exception's subject. */
  driver: string
  openedAt: Date
  detail: { handover: string, stationId: string, currency: string } & Record<string, unknown>
}

/** Opens a handover's cash_discrepancy exceptions, once each per handover and currency. Answers their ids. */
export async function insertCashDiscrepancies (sql: Sql, rows: readonly CashDiscrepancy[]): Promise<string[]> {
  if (rows.length === 0) return []
  const opened = await sql.query<{ id: string }>(
    `INSERT INTO exceptions (kind, device_id, opened_at, detail)
     SELECT 'cash_discrepancy', t.driver, t.opened_at, t.detail
       FROM jsonb_to_recordset($1::jsonb) AS t(driver text, opened_at timestamptz, detail jsonb)
     ON CONFLICT DO NOTHING
     RETURNING id::text`,
    [JSON.stringify(rows.map((row) => ({ driver: row.driver, opened_at: row.openedAt.toISOString(), detail: row.detail })))])
  return opened.map((row) => row.id)
}

/** Whether the driver is a registered device and the hub a station (read from the database: another instance may have just added them). */
export async function selectHandoverParties (sql: Sql, driver: string, stationId: string): Promise<{ driver: boolean, station: boolean }> {
  const [row] = await sql.query<{ driver: boolean, station: boolean }>(
    'SELECT EXISTS (SELECT 1 FROM devices WHERE id = $1) AS driver, EXISTS (SELECT 1 FROM stations WHERE id = $2) AS station', [driver, stationId])
  return row ?? { driver: false, station: false }
}

/** Closes an open cash_discrepancy with who settled it and how; false when there is no such open one. */
export async function resolveCashDiscrepancy (sql: Sql, id: string, resolution: { by: string, note: string, at: Date }): Promise<'resolved' | 'already' | 'missing'> {
  const rows = await sql.query<{ was_open: boolean }>(
    `WITH target AS (SELECT id, cleared_at IS NULL AS was_open FROM exceptions WHERE id = $1::bigint AND kind = 'cash_discrepancy' FOR UPDATE),
          closed AS (
            UPDATE exceptions e SET cleared_at = $3,
                   detail = e.detail || jsonb_build_object('resolution', jsonb_build_object('by', $2::text, 'note', $4::text, 'at', $3::timestamptz))
              FROM target t WHERE e.id = t.id AND t.was_open)
     SELECT was_open FROM target`, [id, resolution.by, resolution.at, resolution.note])
  const row = rows[0]
  return row === undefined ? 'missing' : row.was_open ? 'resolved' : 'already'
}
