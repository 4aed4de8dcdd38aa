import type { ParcelRecord } from '../../model.js'
import type { Sql } from '../sql.js'

export type ParcelHit = Pick<ParcelRecord, 'id' | 'trackingNumber' | 'epc' | 'gs1Key' | 'status'>

const COLUMNS = 'id, tracking_number AS "trackingNumber", epc, gs1_key AS "gs1Key", status'

/**
 * The parcels a search-box query (trimmed and lower-cased) starts a key of: the tracking number in
 * any case, the tag's EPC (stored in upper case), the SSCC's digits. For the first two, the
 * `limit` closest completions: one index range per key length, from the query's own to the
 * longest stored, shortest first, stopping at `limit`; that is what the ranking
 * (tracking/search.ts) puts first. Index ranges only, however many parcels there are.
 */
export async function searchParcels (sql: Sql, needle: string, limit: number): Promise<ParcelHit[]> {
  const rows = await sql.query<ParcelHit>(
    `(SELECT p.* FROM generate_series($2::int, (SELECT max(length(tracking_number)) FROM parcels)) AS l(len)
      CROSS JOIN LATERAL (
        SELECT ${COLUMNS} FROM parcels
         WHERE length(tracking_number) = l.len AND (lower(tracking_number) COLLATE "C") LIKE $1
         ORDER BY (lower(tracking_number) COLLATE "C") LIMIT $3) p
      LIMIT $3)
     UNION ALL
     (SELECT p.* FROM generate_series($2::int, (SELECT max(length(epc)) FROM parcels WHERE epc IS NOT NULL AND $4)) AS l(len)
      CROSS JOIN LATERAL (
        SELECT ${COLUMNS} FROM parcels
         WHERE epc IS NOT NULL AND length(epc) = l.len AND (epc COLLATE "C") LIKE upper($1)
         ORDER BY (epc COLLATE "C") LIMIT $3) p
      LIMIT $3)
     UNION ALL
     (SELECT ${COLUMNS} FROM parcels
       WHERE $5 AND gs1_key IS NOT NULL AND (gs1_key COLLATE "C") LIKE 'sscc:' || $1
       ORDER BY (gs1_key COLLATE "C") LIMIT $3)`,
    [`${escapeLike(needle)}%`, needle.length, limit, /^[0-9a-f]+$/.test(needle), /^\d{1,18}$/.test(needle)])
  const hits = new Map<string, ParcelHit>()
  for (const hit of rows) hits.set(hit.id, hit)
  return [...hits.values()]
}

/** LIKE's own wildcards in what was typed match themselves. */
function escapeLike (text: string): string {
  return text.replace(/[\\%_]/g, '\\$&')
}
