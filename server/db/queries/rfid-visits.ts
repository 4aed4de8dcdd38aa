import type { VisitRow } from '../../model.js'
import { numberArray, textArray } from '../pg-array.js'
import type { Sql } from '../sql.js'

export async function insertVisits (sql: Sql, rows: readonly VisitRow[]): Promise<void> {
  await sql.query(
    `INSERT INTO rfid_visits (reader_id, epc, parcel_id, station_id, first_seen, last_seen, reads, peak_rssi, antennas, direction)
     SELECT reader_id, epc, parcel_id, station_id, to_timestamp(first_ms / 1000.0), to_timestamp(last_ms / 1000.0), reads, peak_rssi,
            ARRAY(SELECT jsonb_array_elements_text(antennas)::int), direction
       FROM unnest($1::text[], $2::text[], $3::uuid[], $4::text[], $5::float8[], $6::float8[], $7::int[], $8::real[], $9::jsonb[], $10::text[])
         AS t(reader_id, epc, parcel_id, station_id, first_ms, last_ms, reads, peak_rssi, antennas, direction)`,
    [
      textArray(rows.map((r) => r.readerId)),
      textArray(rows.map((r) => r.epc)),
      textArray(rows.map((r) => r.parcelId)),
      textArray(rows.map((r) => r.stationId)),
      numberArray(rows.map((r) => r.firstSeen)),
      numberArray(rows.map((r) => r.lastSeen)),
      numberArray(rows.map((r) => r.count)),
      numberArray(rows.map((r) => r.peakRssi)),
      textArray(rows.map((r) => JSON.stringify(r.antennas))),
      textArray(rows.map((r) => r.direction))
    ])
}

export interface VisitView {
  readerId: string
  epc: string
  parcelId: string | null
  stationId: string | null
  firstSeen: Date
  lastSeen: Date
  reads: number
  peakRssi: number | null
  antennas: number[]
  direction: string | null
}

export async function selectVisits (sql: Sql, query: { readerId?: string, parcelId?: string, limit: number }): Promise<VisitView[]> {
  const rows = await sql.query<{ reader_id: string, epc: string, parcel_id: string | null, station_id: string | null, first_seen: Date, last_seen: Date, reads: number, peak_rssi: number | null, antennas: number[], direction: string | null }>(
    `SELECT reader_id, epc, parcel_id, station_id, first_seen, last_seen, reads, peak_rssi, antennas, direction
       FROM rfid_visits
      WHERE ($1::text IS NULL OR reader_id = $1) AND ($2::uuid IS NULL OR parcel_id = $2)
      ORDER BY last_seen DESC
      LIMIT $3`,
    [query.readerId ?? null, query.parcelId ?? null, query.limit])
  return rows.map((row) => ({
    readerId: row.reader_id,
    epc: row.epc,
    parcelId: row.parcel_id,
    stationId: row.station_id,
    firstSeen: row.first_seen,
    lastSeen: row.last_seen,
    reads: row.reads,
    peakRssi: row.peak_rssi,
    antennas: row.antennas,
    direction: row.direction
  }))
}
