import type { Sql } from '../sql.js'

export interface MerchantRecord { id: string, name: string, createdAt: Date }

interface MerchantRow { id: string, name: string, created_at: Date }
const toRecord = (row: MerchantRow): MerchantRecord => ({ id: row.id, name: row.name, createdAt: row.created_at })

/** Null when the id is taken. */
export async function insertMerchant (sql: Sql, merchant: { id: string, name: string }): Promise<MerchantRecord | null> {
  const rows = await sql.query<MerchantRow>(
    'INSERT INTO merchants (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id, name, created_at',
    [merchant.id, merchant.name])
  return rows[0] === undefined ? null : toRecord(rows[0])
}

export async function selectMerchants (sql: Sql): Promise<MerchantRecord[]> {
  return (await sql.query<MerchantRow>('SELECT id, name, created_at FROM merchants ORDER BY id')).map(toRecord)
}

export async function merchantExists (sql: Sql, id: string): Promise<boolean> {
  return (await sql.query('SELECT 1 FROM merchants WHERE id = $1', [id])).length > 0
}
