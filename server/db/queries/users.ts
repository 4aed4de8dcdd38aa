import type { Role } from '../../auth/permissions.js'
import type { Sql } from '../sql.js'

export interface UserRecord {
  id: string
  email: string
  name: string | null
  role: Role
  merchantId: string | null
  disabled: boolean
  createdAt: Date
}

interface UserRow {
  id: string
  email: string
  name: string | null
  role: Role
  merchant_id: string | null
  disabled: boolean
  created_at: Date
}

const COLUMNS = 'id, email, name, role, merchant_id, disabled, created_at'

function toRecord (row: UserRow): UserRecord {
  return { id: row.id, email: row.email, name: row.name, role: row.role, merchantId: row.merchant_id, disabled: row.disabled, createdAt: row.created_at }
}

export interface NewUser { email: string, name: string | null, passwordHash: string, role: Role, merchantId: string | null }

/** Null when the email is taken (in any letter case). */
export async function insertUser (sql: Sql, user: NewUser): Promise<UserRecord | null> {
  const rows = await sql.query<UserRow>(
    `INSERT INTO users (email, name, password_hash, role, merchant_id) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (lower(email)) DO NOTHING RETURNING ${COLUMNS}`,
    [user.email, user.name, user.passwordHash, user.role, user.merchantId])
  return rows[0] === undefined ? null : toRecord(rows[0])
}

export async function selectUsers (sql: Sql): Promise<UserRecord[]> {
  return (await sql.query<UserRow>(`SELECT ${COLUMNS} FROM users ORDER BY lower(email)`)).map(toRecord)
}

export interface LoginCandidate extends UserRecord {
  passwordHash: string
  /** Ms from now until a next try is allowed; 0 when it is. */
  lockedForMs: number
}

export async function selectLoginCandidate (sql: Sql, email: string): Promise<LoginCandidate | null> {
  const rows = await sql.query<UserRow & { password_hash: string, locked_ms: number }>(
    `SELECT ${COLUMNS}, password_hash,
            greatest(0, coalesce(extract(epoch FROM locked_until - now()) * 1000, 0))::float8 AS locked_ms
       FROM users WHERE lower(email) = lower($1)`, [email])
  const row = rows[0]
  return row === undefined ? null : { ...toRecord(row), passwordHash: row.password_hash, lockedForMs: Math.ceil(row.locked_ms) }
}

/**
 * One more wrong password: from the `freeTries`-th in a row on, the account waits before its next
 * try, twice as long each time, up to `maxLockMs`. Answers how long it now waits.
 */
export async function recordFailedLogin (sql: Sql, id: string, freeTries: number, maxLockMs: number): Promise<number> {
  const rows = await sql.query<{ locked_ms: number }>(
    `UPDATE users SET failed_logins = failed_logins + 1,
            locked_until = CASE WHEN failed_logins + 1 >= $2
              THEN now() + least($3::float8, 1000 * power(2, failed_logins + 1 - $2)) * interval '1 millisecond' END
      WHERE id = $1
      RETURNING greatest(0, coalesce(extract(epoch FROM locked_until - now()) * 1000, 0))::float8 AS locked_ms`,
    [id, freeTries, maxLockMs])
  return Math.ceil(rows[0]?.locked_ms ?? 0)
}

export async function clearFailedLogins (sql: Sql, id: string): Promise<void> {
  await sql.query('UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1 AND failed_logins > 0', [id])
}

export interface UserChange { disabled?: boolean, role?: Role, merchantId?: string | null, passwordHash?: string, name?: string | null }

/** Null when there is no such user. */
export async function updateUser (sql: Sql, id: string, change: UserChange): Promise<UserRecord | null> {
  const rows = await sql.query<UserRow>(
    `UPDATE users SET
       disabled = coalesce($2, disabled),
       role = coalesce($3, role),
       merchant_id = CASE WHEN $4::boolean THEN $5 ELSE merchant_id END,
       password_hash = coalesce($6, password_hash),
       name = CASE WHEN $7::boolean THEN $8 ELSE name END
     WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, change.disabled ?? null, change.role ?? null, change.merchantId !== undefined, change.merchantId ?? null,
      change.passwordHash ?? null, change.name !== undefined, change.name ?? null])
  return rows[0] === undefined ? null : toRecord(rows[0])
}

export async function selectUserByEmail (sql: Sql, email: string): Promise<UserRecord | null> {
  const rows = await sql.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE lower(email) = lower($1)`, [email])
  return rows[0] === undefined ? null : toRecord(rows[0])
}
