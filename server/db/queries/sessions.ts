import type { Role } from '../../auth/permissions.js'
import type { Sql } from '../sql.js'

export interface NewSession { hash: Buffer, userId: string | null, maxAgeMs: number, ip: string, userAgent: string | null }

/** Answers when the session ends at the latest. */
export async function insertSession (sql: Sql, session: NewSession): Promise<Date> {
  const rows = await sql.query<{ expires_at: Date }>(
    `INSERT INTO sessions (token_hash, user_id, expires_at, ip, user_agent)
     VALUES ($1, $2, now() + $3::float8 * interval '1 millisecond', $4, $5) RETURNING expires_at`,
    [session.hash, session.userId, session.maxAgeMs, session.ip, session.userAgent])
  return (rows[0] as { expires_at: Date }).expires_at
}

export interface LiveSession {
  /** Null: opened with the installation key. */
  user: { id: string, email: string, role: Role, merchantId: string | null } | null
}

/**
 * The session behind a cookie, if it is still alive: not ended, not past its end, used within the
 * idle time, and its user not disabled. Marks it used (at most every 30 s, to spare writes).
 */
export async function useSession (sql: Sql, hash: Buffer, idleMs: number): Promise<LiveSession | null> {
  const rows = await sql.query<{ user_id: string | null, email: string | null, role: Role | null, merchant_id: string | null }>(
    `WITH live AS (
       SELECT s.token_hash, s.user_id, s.last_seen_at, u.email, u.role, u.merchant_id
         FROM sessions s LEFT JOIN users u ON u.id = s.user_id
        WHERE s.token_hash = $1 AND s.ended_at IS NULL AND s.expires_at > now()
          AND s.last_seen_at > now() - $2::float8 * interval '1 millisecond'
          AND (s.user_id IS NULL OR NOT u.disabled)
     ), touched AS (
       UPDATE sessions SET last_seen_at = now()
        WHERE token_hash = (SELECT token_hash FROM live WHERE last_seen_at < now() - interval '30 seconds')
     )
     SELECT user_id, email, role, merchant_id FROM live`, [hash, idleMs], 'use-session')
  const row = rows[0]
  if (row === undefined) return null
  if (row.user_id === null) return { user: null }
  return { user: { id: row.user_id, email: row.email as string, role: row.role as Role, merchantId: row.merchant_id } }
}

export async function endSession (sql: Sql, hash: Buffer): Promise<void> {
  await sql.query('UPDATE sessions SET ended_at = now() WHERE token_hash = $1 AND ended_at IS NULL', [hash])
}

/** Ends every session of a user (disabled, role changed, password changed). */
export async function endUserSessions (sql: Sql, userId: string): Promise<number> {
  const rows = await sql.query('UPDATE sessions SET ended_at = now() WHERE user_id = $1 AND ended_at IS NULL RETURNING 1', [userId])
  return rows.length
}
