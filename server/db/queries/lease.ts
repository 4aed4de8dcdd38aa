import type { Sql } from '../sql.js'

/** Session-level: held as long as the connection that took it lives, and let go the moment it ends. */
export async function tryAdvisoryLock (sql: Sql, key: number): Promise<boolean> {
  const [row] = await sql.query<{ taken: boolean }>('SELECT pg_try_advisory_lock($1) AS taken', [key])
  return row?.taken === true
}

export async function advisoryUnlock (sql: Sql, key: number): Promise<void> {
  await sql.query('SELECT pg_advisory_unlock($1)', [key])
}

/** The holder's proof, each check, that its connection (and so its lock) is still there. */
export async function stillConnected (sql: Sql): Promise<void> {
  await sql.query('SELECT 1')
}
