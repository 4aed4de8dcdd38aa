import type { AntennaMapping, ReaderRecord } from '../../state/registry.js'
import type { ScanMilestoneCode } from '../../tracking/milestones.js'
import type { Sql } from '../sql.js'

interface ReaderRow {
  device_id: string
  station_id: string
  milestone: ScanMilestoneCode
  name: string | null
  antennas: AntennaMapping[]
  created_at: Date
}

const COLUMNS = 'device_id, station_id, milestone, name, antennas, created_at'

function toRecord (row: ReaderRow): ReaderRecord {
  return {
    deviceId: row.device_id,
    stationId: row.station_id,
    milestone: row.milestone,
    name: row.name,
    antennas: row.antennas,
    createdAt: row.created_at
  }
}

/** A reader device is placed at one station at a time; placing it again moves it. */
export async function upsertReader (sql: Sql, reader: Omit<ReaderRecord, 'createdAt'>): Promise<ReaderRecord> {
  const rows = await sql.query<ReaderRow>(
    `INSERT INTO readers (device_id, station_id, milestone, name, antennas) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (device_id) DO UPDATE SET
       station_id = excluded.station_id, milestone = excluded.milestone, name = excluded.name, antennas = excluded.antennas
     RETURNING ${COLUMNS}`,
    [reader.deviceId, reader.stationId, reader.milestone, reader.name, JSON.stringify(reader.antennas)])
  return toRecord(rows[0] as ReaderRow)
}

export async function selectReaders (sql: Sql): Promise<ReaderRecord[]> {
  return (await sql.query<ReaderRow>(`SELECT ${COLUMNS} FROM readers ORDER BY device_id`)).map(toRecord)
}
