import type { Sql } from '../sql.js'
import type { StationRecord } from '../../model.js'

interface StationRow {
  id: string
  name: string
  kind: string
  lat: number
  lon: number
  city: string | null
  country: string | null
  timezone: string | null
  created_at: Date
}

const COLUMNS = 'id, name, kind, lat, lon, city, country, timezone, created_at'

function toRecord (row: StationRow): StationRecord {
  const { created_at: createdAt, ...rest } = row
  return { ...rest, createdAt }
}

export async function insertStation (sql: Sql, station: Omit<StationRecord, 'createdAt'>): Promise<StationRecord> {
  const rows = await sql.query<StationRow>(
    `INSERT INTO stations (id, name, kind, lat, lon, city, country, timezone)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
    [station.id, station.name, station.kind, station.lat, station.lon, station.city, station.country, station.timezone])
  return toRecord(rows[0] as StationRow)
}

export async function selectStations (sql: Sql): Promise<StationRecord[]> {
  return (await sql.query<StationRow>(`SELECT ${COLUMNS} FROM stations ORDER BY id`)).map(toRecord)
}
