import type { Sql } from '../sql.js'

export interface WebhookSubscription {
  id: string
  url: string
  /** Milestone codes, or '*' for all. */
  events: string[]
  description: string | null
  enabled: boolean
  createdAt: Date
}

interface SubscriptionRow {
  id: string
  url: string
  event_types: string[]
  description: string | null
  enabled: boolean
  created_at: Date
}

/** Never the secret: it is returned once, by the route that creates the subscription. */
const COLUMNS = 'id, url, event_types, description, enabled, created_at'

function toSubscription (row: SubscriptionRow): WebhookSubscription {
  return {
    id: row.id,
    url: row.url,
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
  events: string[]
  description: string | null
  enabled: boolean
  createdAt: Date
}

export async function insertSubscription (sql: Sql, subscription: NewSubscription): Promise<WebhookSubscription> {
  const { id, url, secret, events, description, enabled, createdAt } = subscription
  const rows = await sql.query<SubscriptionRow>(
    `INSERT INTO webhook_subscriptions (id, url, secret, event_types, description, enabled, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
    [id, url, secret, events, description, enabled, createdAt])
  return toSubscription(rows[0] as SubscriptionRow)
}

export async function selectSubscriptions (sql: Sql): Promise<WebhookSubscription[]> {
  return (await sql.query<SubscriptionRow>(`SELECT ${COLUMNS} FROM webhook_subscriptions ORDER BY created_at, id`)).map(toSubscription)
}

export async function selectSubscription (sql: Sql, id: string): Promise<WebhookSubscription | undefined> {
  const [row] = await sql.query<SubscriptionRow>(`SELECT ${COLUMNS} FROM webhook_subscriptions WHERE id = $1`, [id])
  return row === undefined ? undefined : toSubscription(row)
}

/** Deletes the subscription and its delivery log. False if there was none. */
export async function deleteSubscription (sql: Sql, id: string): Promise<boolean> {
  return (await sql.query('DELETE FROM webhook_subscriptions WHERE id = $1 RETURNING id', [id])).length > 0
}
