import type { Sql } from '../sql.js'

export interface WebhookSubscription {
  id: string
  url: string
  /** Whose it is: it hears of that merchant's parcels only; null hears of every parcel. */
  merchantId: string | null
  /** Milestone codes, or '*' for all. */
  events: string[]
  description: string | null
  enabled: boolean
  createdAt: Date
}

interface SubscriptionRow {
  id: string
  url: string
  merchant_id: string | null
  event_types: string[]
  description: string | null
  enabled: boolean
  created_at: Date
}

/** Never the secret: it is returned once, by the route that creates the subscription. */
const COLUMNS = 'id, url, merchant_id, event_types, description, enabled, created_at'

function toSubscription (row: SubscriptionRow): WebhookSubscription {
  return {
    id: row.id,
    url: row.url,
    merchantId: row.merchant_id,
    events: row.event_types,
    description: row.description,
    enabled: row.enabled,
    createdAt: row.created_at
  }
}

export interface NewSubscription {
  id: string
  url: string
  secret: string
  merchantId: string | null
  events: string[]
  description: string | null
  enabled: boolean
  createdAt: Date
}

export async function insertSubscription (sql: Sql, subscription: NewSubscription): Promise<WebhookSubscription> {
  const { id, url, secret, merchantId, events, description, enabled, createdAt } = subscription
  const rows = await sql.query<SubscriptionRow>(
    `INSERT INTO webhook_subscriptions (id, url, secret, event_types, description, enabled, created_at, merchant_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
    [id, url, secret, events, description, enabled, createdAt, merchantId])
  return toSubscription(rows[0] as SubscriptionRow)
}

/** Every subscription, or one merchant's. */
export async function selectSubscriptions (sql: Sql, merchantId: string | null = null): Promise<WebhookSubscription[]> {
  return (await sql.query<SubscriptionRow>(
    `SELECT ${COLUMNS} FROM webhook_subscriptions WHERE $1::text IS NULL OR merchant_id = $1 ORDER BY created_at, id`, [merchantId])).map(toSubscription)
}

export async function selectSubscription (sql: Sql, id: string): Promise<WebhookSubscription | undefined> {
  const [row] = await sql.query<SubscriptionRow>(`SELECT ${COLUMNS} FROM webhook_subscriptions WHERE id = $1`, [id])
  return row === undefined ? undefined : toSubscription(row)
}

/** Deletes the subscription and its delivery log. False if there was none. */
export async function deleteSubscription (sql: Sql, id: string): Promise<boolean> {
  return (await sql.query('DELETE FROM webhook_subscriptions WHERE id = $1 RETURNING id', [id])).length > 0
}
