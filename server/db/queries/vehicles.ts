import type { VehicleRecord } from '../../state/registry.js'
import type { Sql } from '../sql.js'

interface VehicleRow {
  id: string
  name: string
  plate: string | null
  device_id: string | null
  created_at: Date
}

const COLUMNS = 'id, name, plate, device_id, created_at'

function toRecord (row: VehicleRow): VehicleRecord {
  return { id: row.id, name: row.name, plate: row.plate, deviceId: row.device_id, createdAt: row.created_at }
}

export async function insertVehicle (sql: Sql, vehicle: Omit<VehicleRecord, 'createdAt'>): Promise<VehicleRecord> {
  const rows = await sql.query<VehicleRow>(
    `INSERT INTO vehicles (id, name, plate, device_id) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
    [vehicle.id, vehicle.name, vehicle.plate, vehicle.deviceId])
  return toRecord(rows[0] as VehicleRow)
}

export async function selectVehicles (sql: Sql): Promise<VehicleRecord[]> {
  return (await sql.query<VehicleRow>(`SELECT ${COLUMNS} FROM vehicles ORDER BY id`)).map(toRecord)
}
