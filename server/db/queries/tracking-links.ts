import type { Sql } from '../sql.js'

/**
 * The PostgreSQL channel on which a token that stopped working is announced, as
 * "<revoked|replaced> <token>". The NOTIFY is part of the statement that retires the token, so it
 * goes out when, and only if, the change commits: no instance can miss it by a crash in between.
 */
export const TRACKING_LINK_CHANNEL = 'trackstream_tracking_links'

/**
 * Gives the parcel a new token; the one it had is kept as the previous token (so its page can say
 * it was replaced) and announced. A revoked link comes back this way, as a new one. Undefined for
 * no such parcel.
 */
export async function rotateTrackingToken (sql: Sql, parcelId: string, token: string): Promise<{ retired: string } | undefined> {
  const rows = await sql.query<{ retired: string }>(
    `WITH changed AS (
       UPDATE parcels SET previous_token = public_token, public_token = $2, token_revoked_at = NULL
        WHERE id = $1
        RETURNING previous_token AS retired)
     SELECT retired, pg_notify($3, 'replaced ' || retired) FROM changed`,
    [parcelId, token, TRACKING_LINK_CHANNEL])
  const [row] = rows
  return row === undefined ? undefined : { retired: row.retired }
}

/**
 * Stops the parcel's link (the first revocation's time is kept) and announces it. Undefined for
 * no such parcel.
 */
export async function revokeTrackingToken (sql: Sql, parcelId: string): Promise<{ token: string, revokedAt: Date } | undefined> {
  const rows = await sql.query<{ token: string, revoked_at: Date }>(
    `WITH changed AS (
       UPDATE parcels SET token_revoked_at = coalesce(token_revoked_at, now())
        WHERE id = $1
        RETURNING public_token, token_revoked_at)
     SELECT public_token AS token, token_revoked_at AS revoked_at, pg_notify($2, 'revoked ' || public_token) FROM changed`,
    [parcelId, TRACKING_LINK_CHANNEL])
  const [row] = rows
  return row === undefined ? undefined : { token: row.token, revokedAt: row.revoked_at }
}

/** Whether a rotation replaced this token (it is no parcel's current one). */
export async function isReplacedToken (sql: Sql, token: string): Promise<boolean> {
  const rows = await sql.query('SELECT 1 FROM parcels WHERE previous_token = $1', [token], 'replaced-tracking-token')
  return rows.length > 0
}
