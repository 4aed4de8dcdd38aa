import type { Sql } from '../sql.js'

export interface AuditEntry {
  actor: string
  merchantId: string | null
  ip: string | null
  action: string
  target: string | null
  outcome: 'ok' | 'refused' | 'failed'
  detail: Record<string, unknown>
}

export interface AuditRecord extends AuditEntry { id: string, at: Date }

export async function insertAuditEntry (sql: Sql, entry: AuditEntry): Promise<void> {
  await sql.query(
    'INSERT INTO audit_log (actor, merchant_id, ip, action, target, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [entry.actor, entry.merchantId, entry.ip, entry.action, entry.target, entry.outcome, JSON.stringify(entry.detail)])
}

export interface AuditFilter {
  actor?: string
  action?: string
  from?: Date
  to?: Date
  /** Entries older than this id: the next page. */
  before?: string
  limit: number
}

interface AuditRow {
  id: string
  at: Date
  actor: string
  merchant_id: string | null
  ip: string | null
  action: string
  target: string | null
  outcome: AuditEntry['outcome']
  detail: Record<string, unknown>
}

/** Newest first. `action` matches a prefix ("parcels." for every parcel change). */
export async function selectAuditEntries (sql: Sql, filter: AuditFilter): Promise<AuditRecord[]> {
  const rows = await sql.query<AuditRow>(
    `SELECT id::text, at, actor, merchant_id, ip, action, target, outcome, detail FROM audit_log
      WHERE ($1::text IS NULL OR actor = $1)
        AND ($2::text IS NULL OR starts_with(action, $2))
        AND ($3::timestamptz IS NULL OR at >= $3)
        AND ($4::timestamptz IS NULL OR at < $4)
        AND ($5::bigint IS NULL OR id < $5)
      ORDER BY id DESC LIMIT $6`,
    [filter.actor ?? null, filter.action ?? null, filter.from ?? null, filter.to ?? null, filter.before ?? null, filter.limit])
  return rows.map((row) => ({
    id: row.id,
    at: row.at,
    actor: row.actor,
    merchantId: row.merchant_id,
    ip: row.ip,
    action: row.action,
    target: row.target,
    outcome: row.outcome,
    detail: row.detail
  }))
}
