import type { DeviceFormat } from '../../../gateway/decoders/format.js'
import type { Sql } from '../sql.js'
import type { DeviceKind, DeviceRecord } from '../../model.js'

interface DeviceRow {
  id: string
  kind: DeviceKind
  format: DeviceFormat
  owner: string
  scope: string | null
  name: string | null
  secret_hash: string
  disabled: boolean
  created_at: Date
}

const COLUMNS = 'id, kind, format, owner, scope, name, secret_hash, disabled, created_at'

function toRecord (row: DeviceRow): DeviceRecord {
  return {
    id: row.id,
    kind: row.kind,
    format: row.format,
    owner: row.owner,
    scope: row.scope,
    name: row.name,
    secretHash: row.secret_hash,
    disabled: row.disabled,
    createdAt: row.created_at
  }
}

export type NewDevice = Pick<DeviceRecord, 'id' | 'kind' | 'format' | 'owner' | 'scope' | 'name' | 'secretHash'>

export async function insertDevice (sql: Sql, device: NewDevice): Promise<DeviceRecord> {
  const rows = await sql.query<DeviceRow>(
    `INSERT INTO devices (id, kind, format, owner, scope, name, secret_hash) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
    [device.id, device.kind, device.format, device.owner, device.scope, device.name, device.secretHash])
  return toRecord(rows[0] as DeviceRow)
}

export async function updateDevice (
  sql: Sql,
  id: string,
  changes: { name?: string | null, disabled?: boolean, secretHash?: string, format?: DeviceFormat }
): Promise<DeviceRecord | undefined> {
  const rows = await sql.query<DeviceRow>(
    `UPDATE devices SET
       name = CASE WHEN $2 THEN $3 ELSE name END,
       disabled = coalesce($4, disabled),
       secret_hash = coalesce($5, secret_hash),
       format = coalesce($6, format)
     WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, changes.name !== undefined, changes.name ?? null, changes.disabled ?? null, changes.secretHash ?? null, changes.format ?? null])
  return rows[0] === undefined ? undefined : toRecord(rows[0])
}

export async function selectDevices (sql: Sql): Promise<DeviceRecord[]> {
  return (await sql.query<DeviceRow>(`SELECT ${COLUMNS} FROM devices ORDER BY id`)).map(toRecord)
}
