import type { Sql } from '../sql.js'
import type { Driver, VehicleRecord } from '../../model.js'

interface VehicleRow {
  id: string
  name: string
  plate: string | null
  device_id: string | null
  driver_name: string | null
  driver_phone: string | null
  driver_since: Date | null
  created_at: Date
}

const COLUMNS = 'id, name, plate, device_id, driver_name, driver_phone, driver_since, created_at'

function toRecord (row: VehicleRow): VehicleRecord {
  const driver = row.driver_name === null || row.driver_since === null
    ? null
    : { name: row.driver_name, phone: row.driver_phone, since: row.driver_since }
  return { id: row.id, name: row.name, plate: row.plate, deviceId: row.device_id, driver, createdAt: row.created_at }
}

export async function insertVehicle (sql: Sql, vehicle: Omit<VehicleRecord, 'createdAt'>): Promise<VehicleRecord> {
  const rows = await sql.query<VehicleRow>(
    `INSERT INTO vehicles (id, name, plate, device_id, driver_name, driver_phone, driver_since)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
    [vehicle.id, vehicle.name, vehicle.plate, vehicle.deviceId, vehicle.driver?.name ?? null, vehicle.driver?.phone ?? null, vehicle.driver?.since ?? null])
  return toRecord(rows[0] as VehicleRow)
}

/** undefined when there is no such vehicle. */
export async function updateVehicleDriver (sql: Sql, vehicleId: string, driver: Driver | null): Promise<VehicleRecord | undefined> {
  const rows = await sql.query<VehicleRow>(
    `UPDATE vehicles SET driver_name = $2, driver_phone = $3, driver_since = $4 WHERE id = $1 RETURNING ${COLUMNS}`,
    [vehicleId, driver?.name ?? null, driver?.phone ?? null, driver?.since ?? null])
  const row = rows[0]
  return row === undefined ? undefined : toRecord(row)
}

export async function selectVehicles (sql: Sql): Promise<VehicleRecord[]> {
  return (await sql.query<VehicleRow>(`SELECT ${COLUMNS} FROM vehicles ORDER BY id`)).map(toRecord)
}
