import type { ExceptionKind, NewException, OpenException } from '../../model.js'
import type { Sql } from '../sql.js'

/** Opens exceptions; one already open for the same kind and subject is left as it is. */
export async function openExceptions (sql: Sql, rows: readonly NewException[]): Promise<OpenException[]> {
  if (rows.length === 0) return []
  const opened = await sql.query<{ id: string, kind: ExceptionKind, parcel_id: string | null, vehicle_id: string | null }>(
    `INSERT INTO exceptions (kind, parcel_id, vehicle_id, opened_at, detail)
     SELECT kind, parcel_id, vehicle_id, to_timestamp(ms / 1000.0), detail
       FROM jsonb_to_recordset($1::jsonb) AS t(kind text, parcel_id uuid, vehicle_id text, ms float8, detail jsonb)
     ON CONFLICT DO NOTHING
     RETURNING id::text, kind, parcel_id, vehicle_id`,
    [JSON.stringify(rows.map((row) => ({ kind: row.kind, parcel_id: row.parcelId, vehicle_id: row.vehicleId, ms: row.openedAt, detail: row.detail })))])
  return opened.map((row) => ({ id: row.id, kind: row.kind, parcelId: row.parcel_id, vehicleId: row.vehicle_id }))
}

export async function clearExceptions (sql: Sql, ids: readonly string[], at: number): Promise<void> {
  if (ids.length === 0) return
  await sql.query('UPDATE exceptions SET cleared_at = to_timestamp($2 / 1000.0) WHERE id = ANY($1::bigint[]) AND cleared_at IS NULL', [ids, at])
}

/** The open exceptions of parcels and vehicles, which the sweep raises and clears (a device's are raised as its events commit). */
export async function selectOpenExceptions (sql: Sql): Promise<OpenException[]> {
  const rows = await sql.query<{ id: string, kind: ExceptionKind, parcel_id: string | null, vehicle_id: string | null }>(
    'SELECT id::text, kind, parcel_id, vehicle_id FROM exceptions WHERE cleared_at IS NULL AND device_id IS NULL')
  return rows.map((row) => ({ id: row.id, kind: row.kind, parcelId: row.parcel_id, vehicleId: row.vehicle_id }))
}

export interface ExceptionView {
  id: string
  kind: ExceptionKind
  parcel: { id: string, trackingNumber: string, status: string } | null
  vehicleId: string | null
  deviceId: string | null
  openedAt: Date
  clearedAt: Date | null
  detail: Record<string, unknown>
  lastMilestone: { code: string, time: Date, lat: number | null, lon: number | null, stationId: string | null } | null
  lastScan: { time: Date, readerId: string, stationId: string | null } | null
}

interface ExceptionRow {
  id: string
  kind: ExceptionKind
  parcel_id: string | null
  tracking_number: string | null
  status: string | null
  vehicle_id: string | null
  device_id: string | null
  opened_at: Date
  cleared_at: Date | null
  detail: Record<string, unknown>
  m_code: string | null
  m_time: Date | null
  m_lat: number | null
  m_lon: number | null
  m_station: string | null
  s_time: Date | null
  s_reader: string | null
  s_station: string | null
}

/** Exceptions, newest first, each with the parcel's last located milestone and last RFID read. */
export async function selectExceptions (sql: Sql, query: { open: boolean, kind?: ExceptionKind, limit: number }): Promise<ExceptionView[]> {
  const rows = await sql.query<ExceptionRow>(
    `SELECT e.id::text, e.kind, e.parcel_id, p.tracking_number, p.status, e.vehicle_id, e.device_id, e.opened_at, e.cleared_at, e.detail,
            m.code AS m_code, m.time AS m_time, m.lat AS m_lat, m.lon AS m_lon, m.station_id AS m_station,
            r.time AS s_time, r.reader_id AS s_reader, r.station_id AS s_station
       FROM exceptions e
       LEFT JOIN parcels p ON p.id = e.parcel_id
       LEFT JOIN LATERAL (
         SELECT code, time, lat, lon, station_id FROM milestones
          WHERE parcel_id = e.parcel_id AND lat IS NOT NULL ORDER BY time DESC, id DESC LIMIT 1) m ON true
       LEFT JOIN LATERAL (
         SELECT time, reader_id, station_id FROM rfid_reads
          WHERE parcel_id = e.parcel_id ORDER BY time DESC LIMIT 1) r ON true
      WHERE ($1::boolean IS FALSE OR e.cleared_at IS NULL) AND ($2::text IS NULL OR e.kind = $2)
      ORDER BY e.opened_at DESC, e.id DESC
      LIMIT $3`,
    [query.open, query.kind ?? null, query.limit])
  return rows.map((row) => ({
    id: row.id,
    kind: row.kind,
    parcel: row.parcel_id === null ? null : { id: row.parcel_id, trackingNumber: row.tracking_number ?? '', status: row.status ?? '' },
    vehicleId: row.vehicle_id,
    deviceId: row.device_id,
    openedAt: row.opened_at,
    clearedAt: row.cleared_at,
    detail: row.detail,
    lastMilestone: row.m_code === null || row.m_time === null ? null : { code: row.m_code, time: row.m_time, lat: row.m_lat, lon: row.m_lon, stationId: row.m_station },
    lastScan: row.s_time === null || row.s_reader === null ? null : { time: row.s_time, readerId: row.s_reader, stationId: row.s_station }
  }))
}
