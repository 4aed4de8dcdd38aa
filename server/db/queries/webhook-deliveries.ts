import type { Sql } from '../sql.js'

export type DeliveryStatus = 'pending' | 'delivered' | 'failed'

export interface WebhookDelivery {
  id: string
  eventId: string
  eventType: string
  status: DeliveryStatus
  attempts: number
  lastStatusCode: number | null
  lastError: string | null
  lastAttemptAt: Date | null
  /** When the next attempt is due; null once delivered or failed. */
  nextAttemptAt: Date | null
  deliveredAt: Date | null
  createdAt: Date
  payload: unknown
}

interface DeliveryRow {
  id: string
  event_id: string
  type: string
  status: DeliveryStatus
  attempts: number
  last_status_code: number | null
  last_error: string | null
  last_attempt_at: Date | null
  next_attempt_at: Date
  delivered_at: Date | null
  created_at: Date
  payload: unknown
}

/** One subscription's delivery log, newest first. */
export async function selectDeliveries (sql: Sql, subscriptionId: string, limit: number): Promise<WebhookDelivery[]> {
  const rows = await sql.query<DeliveryRow>(
    `SELECT d.id, d.event_id, o.type, d.status, d.attempts, d.last_status_code, d.last_error, d.last_attempt_at,
            d.next_attempt_at, d.delivered_at, d.created_at, o.payload
       FROM webhook_deliveries d
       JOIN webhook_outbox o ON o.id = d.event_id
      WHERE d.subscription_id = $1
      ORDER BY d.created_at DESC, o.created_at DESC, d.id DESC
      LIMIT $2`,
    [subscriptionId, limit])
  return rows.map((row) => ({
    id: row.id,
    eventId: row.event_id,
    eventType: row.type,
    status: row.status,
    attempts: row.attempts,
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    lastAttemptAt: row.last_attempt_at,
    nextAttemptAt: row.status === 'pending' ? row.next_attempt_at : null,
    deliveredAt: row.delivered_at,
    createdAt: row.created_at,
    payload: row.payload
  }))
}

/**
 * A ping for one enabled subscription: an event that is fanned out already, with its one delivery
 * due now. Returns the delivery's id; undefined (and nothing written) if there is no such
 * subscription or it is disabled.
 */
export async function insertPing (sql: Sql, ping: { eventId: string, subscriptionId: string, now: number, payload: unknown }): Promise<string | undefined> {
  const [row] = await sql.query<{ id: string }>(
    `WITH subscription AS (
       SELECT id FROM webhook_subscriptions WHERE id = $4::uuid AND enabled
     ), event AS (
       INSERT INTO webhook_outbox (id, type, payload, occurred_at, dispatched_at)
       SELECT $1::uuid, 'ping', $2::jsonb, to_timestamp($3::float8 / 1000.0), to_timestamp($3::float8 / 1000.0) FROM subscription
       RETURNING id
     )
     INSERT INTO webhook_deliveries (event_id, subscription_id, next_attempt_at, created_at)
     SELECT event.id, subscription.id, to_timestamp($3::float8 / 1000.0), to_timestamp($3::float8 / 1000.0) FROM event, subscription
     RETURNING id`,
    [ping.eventId, JSON.stringify(ping.payload), ping.now, ping.subscriptionId])
  return row?.id
}

/**
 * Puts a failed delivery back in the queue, due now, for one more attempt. Returns the status it
 * had (only 'failed' is re-queued), or undefined if there is no such delivery.
 */
export async function requeueFailed (sql: Sql, deliveryId: string, now: number, merchantId: string | null = null): Promise<DeliveryStatus | undefined> {
  const [row] = await sql.query<{ status: DeliveryStatus }>(
    `WITH target AS (
       SELECT d.id, d.status FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id
        WHERE d.id = $1 AND ($3::text IS NULL OR s.merchant_id = $3) FOR UPDATE OF d
     ), requeued AS (
       UPDATE webhook_deliveries d SET status = 'pending', next_attempt_at = to_timestamp($2::float8 / 1000.0)
         FROM target
        WHERE d.id = target.id AND target.status = 'failed'
     )
     SELECT status FROM target`,
    [deliveryId, now, merchantId])
  return row?.status
}
