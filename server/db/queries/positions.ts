import type { Sql } from '../sql.js'

export interface PositionRecord {
  deviceId: string
  vehicleId: string | null
  time: Date
  lat: number
  lon: number
  speed: number | null
  heading: number | null
  accuracy: number | null
  battery: number | null
  receivedAt: Date
}

interface PositionRow {
  device_id: string
  vehicle_id: string | null
  time: Date
  lat: number
  lon: number
  speed: number | null
  heading: number | null
  accuracy: number | null
  battery: number | null
  received_at: Date
}

const COLUMNS = 'device_id, vehicle_id, time, lat, lon, speed, heading, accuracy, battery, received_at'

function toRecord (row: PositionRow): PositionRecord {
  return {
    deviceId: row.device_id,
    vehicleId: row.vehicle_id,
    time: row.time,
    lat: row.lat,
    lon: row.lon,
    speed: row.speed,
    heading: row.heading,
    accuracy: row.accuracy,
    battery: row.battery,
    receivedAt: row.received_at
  }
}

export async function selectLatestPositions (sql: Sql): Promise<PositionRecord[]> {
  return (await sql.query<PositionRow>(`SELECT ${COLUMNS} FROM device_latest`)).map(toRecord)
}

/** A device's track between two instants, oldest first. */
export async function selectTrack (sql: Sql, deviceId: string, from: Date, to: Date, limit: number): Promise<PositionRecord[]> {
  return (await sql.query<PositionRow>(
    `SELECT ${COLUMNS} FROM positions
      WHERE device_id = $1 AND time >= $2 AND time < $3
      ORDER BY time LIMIT $4`,
    [deviceId, from, to, limit])).map(toRecord)
}
