import type { ScanMilestoneCode } from '../../tracking/milestones.js'
import type { Sql } from '../sql.js'
import type { AntennaMapping, ReaderRecord } from '../../model.js'

interface ReaderRow {
  device_id: string
  station_id: string | null
  milestone: ScanMilestoneCode
  name: string | null
  antennas: AntennaMapping[]
  vehicle_id: string | null
  mounted: boolean
  created_at: Date
}

const COLUMNS = 'device_id, station_id, milestone, name, antennas, vehicle_id, mounted, created_at'

function toRecord (row: ReaderRow): ReaderRecord {
  return {
    deviceId: row.device_id,
    stationId: row.station_id,
    milestone: row.milestone,
    name: row.name,
    antennas: row.antennas,
    vehicleId: row.vehicle_id,
    mounted: row.mounted,
    createdAt: row.created_at
  }
}

/** A reader device is placed at one station at a time; placing it again moves it. */
export async function upsertReader (sql: Sql, reader: Omit<ReaderRecord, 'createdAt' | 'mounted'>): Promise<ReaderRecord> {
  const rows = await sql.query<ReaderRow>(
    `INSERT INTO readers (device_id, station_id, milestone, name, antennas, vehicle_id) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (device_id) DO UPDATE SET
       station_id = excluded.station_id, milestone = excluded.milestone, name = excluded.name, antennas = excluded.antennas,
       vehicle_id = excluded.vehicle_id, mounted = false
     RETURNING ${COLUMNS}`,
    [reader.deviceId, reader.stationId, reader.milestone, reader.name, JSON.stringify(reader.antennas), reader.vehicleId])
  return toRecord(rows[0] as ReaderRow)
}

export async function selectReaders (sql: Sql): Promise<ReaderRecord[]> {
  return (await sql.query<ReaderRow>(`SELECT ${COLUMNS} FROM readers ORDER BY device_id`)).map(toRecord)
}

/** The vehicle now at a dock door, or null when it has left. */
export async function updateReaderVehicle (sql: Sql, deviceId: string, vehicleId: string | null): Promise<ReaderRecord | undefined> {
  const rows = await sql.query<ReaderRow>(`UPDATE readers SET vehicle_id = $2 WHERE device_id = $1 RETURNING ${COLUMNS}`, [deviceId, vehicleId])
  return rows[0] === undefined ? undefined : toRecord(rows[0])
}

/** A reader mounted in a vehicle: at no station, every tag it reads is aboard. */
export async function mountReader (sql: Sql, deviceId: string, vehicleId: string): Promise<ReaderRecord> {
  const rows = await sql.query<ReaderRow>(
    `INSERT INTO readers (device_id, station_id, milestone, vehicle_id, mounted) VALUES ($1, NULL, 'loaded', $2, true)
     ON CONFLICT (device_id) DO UPDATE SET station_id = NULL, milestone = 'loaded', antennas = '[]', vehicle_id = excluded.vehicle_id, mounted = true
     RETURNING ${COLUMNS}`,
    [deviceId, vehicleId])
  return toRecord(rows[0] as ReaderRow)
}
