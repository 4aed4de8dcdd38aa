import type { Permission } from '../../auth/permissions.js'
import type { Sql } from '../sql.js'

export interface ApiKeyRecord {
  id: string
  name: string
  merchantId: string | null
  scopes: Permission[]
  createdBy: string
  createdAt: Date
  expiresAt: Date | null
  lastUsedAt: Date | null
  revokedAt: Date | null
}

interface ApiKeyRow {
  id: string
  name: string
  merchant_id: string | null
  scopes: Permission[]
  created_by: string
  created_at: Date
  expires_at: Date | null
  last_used_at: Date | null
  revoked_at: Date | null
}

const COLUMNS = 'id, name, merchant_id, scopes, created_by, created_at, expires_at, last_used_at, revoked_at'

function toRecord (row: ApiKeyRow): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    merchantId: row.merchant_id,
    scopes: row.scopes,
    createdBy: row.created_by,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at
  }
}

export interface NewApiKeyRow {
  id: string
  secretHash: Buffer
  name: string
  merchantId: string | null
  scopes: readonly Permission[]
  createdBy: string
  expiresAt: Date | null
}

export async function insertApiKey (sql: Sql, key: NewApiKeyRow): Promise<ApiKeyRecord> {
  const rows = await sql.query<ApiKeyRow>(
    `INSERT INTO api_keys (id, secret_hash, name, merchant_id, scopes, created_by, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
    [key.id, key.secretHash, key.name, key.merchantId, key.scopes, key.createdBy, key.expiresAt])
  return toRecord(rows[0] as ApiKeyRow)
}

/** A key that may be used now, with its secret's hash to compare; stamps its use at most once a minute. */
export async function selectUsableApiKey (sql: Sql, id: string): Promise<(ApiKeyRecord & { secretHash: Buffer }) | null> {
  const rows = await sql.query<ApiKeyRow & { secret_hash: Buffer }>(
    `SELECT ${COLUMNS}, secret_hash FROM api_keys
      WHERE id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
    [id], 'api-key-by-id')
  const row = rows[0]
  return row === undefined ? null : { ...toRecord(row), secretHash: row.secret_hash }
}

export async function touchApiKey (sql: Sql, id: string): Promise<void> {
  await sql.query(
    `UPDATE api_keys SET last_used_at = now()
      WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`, [id])
}

export async function selectApiKeys (sql: Sql, merchantId: string | null): Promise<ApiKeyRecord[]> {
  const rows = await sql.query<ApiKeyRow>(
    `SELECT ${COLUMNS} FROM api_keys WHERE $1::text IS NULL OR merchant_id = $1 ORDER BY created_at DESC, id`, [merchantId])
  return rows.map(toRecord)
}

/** Null when there is no such key in reach; revoking twice keeps the first time. */
export async function revokeApiKey (sql: Sql, id: string, merchantId: string | null): Promise<ApiKeyRecord | null> {
  const rows = await sql.query<ApiKeyRow>(
    `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
      WHERE id = $1 AND ($2::text IS NULL OR merchant_id = $2) RETURNING ${COLUMNS}`, [id, merchantId])
  return rows[0] === undefined ? null : toRecord(rows[0])
}
