import type { Sql } from '../sql.js'
import type { ContainerKind, ContainerRecord } from '../../model.js'

interface ContainerRow {
  id: string
  kind: ContainerKind
  name: string | null
  epc: string | null
  gs1_key: string | null
  created_at: Date
}

const COLUMNS = 'id, kind, name, epc, gs1_key, created_at'

function toRecord (row: ContainerRow): ContainerRecord {
  return { id: row.id, kind: row.kind, name: row.name, epc: row.epc, gs1Key: row.gs1_key, createdAt: row.created_at }
}

export async function insertContainer (sql: Sql, container: Omit<ContainerRecord, 'createdAt'>): Promise<ContainerRecord> {
  const rows = await sql.query<ContainerRow>(
    `INSERT INTO containers (id, kind, name, epc, gs1_key) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
    [container.id, container.kind, container.name, container.epc, container.gs1Key])
  return toRecord(rows[0] as ContainerRow)
}

export async function selectContainers (sql: Sql): Promise<ContainerRecord[]> {
  return (await sql.query<ContainerRow>(`SELECT ${COLUMNS} FROM containers ORDER BY id`)).map(toRecord)
}
