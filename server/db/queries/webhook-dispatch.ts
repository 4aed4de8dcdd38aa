import type { Sql } from '../sql.js'

/**
 * The dispatcher's queries. Each is one statement, so its row locks last only as long as it runs;
 * SKIP LOCKED lets several trackstream instances share the work without taking the same rows.
 */

/**
 * Fans up to `limit` undispatched events out into one pending delivery per enabled subscription
 * whose event types match, and marks them dispatched. Returns how many events it took.
 */
export async function fanOutEvents (sql: Sql, now: number, limit: number): Promise<number> {
  const [row] = await sql.query<{ events: number }>(
    `WITH events AS (
       SELECT id, type, parcel_id, merchant_id FROM webhook_outbox
        WHERE dispatched_at IS NULL
        ORDER BY created_at
        LIMIT $2
        FOR UPDATE SKIP LOCKED
     ), fanned AS (
       INSERT INTO webhook_deliveries (event_id, subscription_id, next_attempt_at, created_at)
       SELECT e.id, s.id, to_timestamp($1::float8 / 1000.0), to_timestamp($1::float8 / 1000.0)
         FROM events e
         LEFT JOIN parcels p ON p.id = e.parcel_id
         -- a merchant's subscription hears of its own parcels (and its own remittances, which name
         -- the merchant and no parcel) only; the operator's of every one
         JOIN webhook_subscriptions s ON s.enabled AND s.event_types && ARRAY[e.type, '*']
                                     AND (s.merchant_id IS NULL OR s.merchant_id = coalesce(p.merchant_id, e.merchant_id))
       ON CONFLICT (event_id, subscription_id) DO NOTHING
     ), marked AS (
       UPDATE webhook_outbox o SET dispatched_at = to_timestamp($1::float8 / 1000.0)
         FROM events e
        WHERE o.id = e.id
       RETURNING 1
     )
     SELECT count(*)::int AS events FROM marked`,
    [now, limit])
  return row?.events ?? 0
}

export interface DueDelivery {
  id: string
  subscriptionId: string
  /** This attempt's number: 1 for the first. */
  attempt: number
  eventId: string
  eventType: string
  /** The event's payload as JSON text: sent and signed exactly as it is. */
  body: string
  url: string
  secret: string
}

/**
 * Claims up to `limit` due deliveries of enabled subscriptions, at most `perSubscription` in
 * flight for any one subscription (counting attempts other instances hold): counts the attempt
 * and leases the row until `now + leaseMs`, so no other instance takes it meanwhile, and an
 * instance that dies mid-request leaves it to be tried again once the lease runs out. A
 * subscription whose receiver hangs thus holds its own few leases and nobody else's turn.
 */
export async function claimDueDeliveries (sql: Sql, claim: { now: number, leaseMs: number, limit: number, perSubscription: number }): Promise<DueDelivery[]> {
  return await sql.query<DueDelivery>(
    `WITH due AS (
       SELECT d.id FROM webhook_subscriptions s
       CROSS JOIN LATERAL (
         SELECT q.id, q.next_attempt_at FROM webhook_deliveries q
          WHERE q.subscription_id = s.id AND q.status = 'pending' AND q.next_attempt_at <= to_timestamp($1::float8 / 1000.0)
          ORDER BY q.next_attempt_at
          LIMIT greatest(0, $4::int - (
            SELECT count(*)::int FROM webhook_deliveries b
             WHERE b.subscription_id = s.id AND b.status = 'pending' AND b.leased_until > to_timestamp($1::float8 / 1000.0)))
          FOR UPDATE OF q SKIP LOCKED
       ) d
       WHERE s.enabled
       ORDER BY d.next_attempt_at
       LIMIT $3
     )
     UPDATE webhook_deliveries d
        SET attempts = d.attempts + 1,
            last_attempt_at = to_timestamp($1::float8 / 1000.0),
            next_attempt_at = to_timestamp(($1::float8 + $2::float8) / 1000.0),
            leased_until = to_timestamp(($1::float8 + $2::float8) / 1000.0)
       FROM due, webhook_outbox o, webhook_subscriptions s
      WHERE d.id = due.id AND o.id = d.event_id AND s.id = d.subscription_id
     RETURNING d.id, d.subscription_id AS "subscriptionId", d.attempts AS attempt, o.id AS "eventId", o.type AS "eventType", o.payload::text AS body, s.url, s.secret`,
    [claim.now, claim.leaseMs, claim.limit, claim.perSubscription])
}

export type AttemptOutcome =
  | { kind: 'delivered', statusCode: number }
  | { kind: 'retry', statusCode: number | null, error: string, nextAttemptAt: number }
  | { kind: 'failed', statusCode: number | null, error: string }

/** Records how an attempt went: delivered, due again at nextAttemptAt, or given up on. */
export async function recordAttempt (sql: Sql, deliveryId: string, now: number, outcome: AttemptOutcome): Promise<void> {
  if (outcome.kind === 'delivered') {
    await sql.query(
      `UPDATE webhook_deliveries
          SET status = 'delivered', delivered_at = to_timestamp($2::float8 / 1000.0), last_status_code = $3, last_error = NULL, leased_until = NULL
        WHERE id = $1`,
      [deliveryId, now, outcome.statusCode])
    return
  }
  await sql.query(
    `UPDATE webhook_deliveries
        SET status = $2, next_attempt_at = to_timestamp($3::float8 / 1000.0), last_status_code = $4, last_error = $5, leased_until = NULL
      WHERE id = $1`,
    [deliveryId, outcome.kind === 'retry' ? 'pending' : 'failed', outcome.kind === 'retry' ? outcome.nextAttemptAt : now,
      outcome.statusCode, outcome.error])
}
