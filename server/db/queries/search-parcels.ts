import type { ParcelRecord } from '../../model.js'
import type { Sql } from '../sql.js'

export type ParcelHit = Pick<ParcelRecord, 'id' | 'trackingNumber' | 'epc' | 'gs1Key' | 'status'>

/** More matches of one key than this, and only the closest completions are read. */
const FEW = 200
/** Longer than any tracking number (64) or EPC (124 hex digits) the API accepts. */
const MAX_KEY_LENGTH = 128

const COLUMNS = 'id, tracking_number AS "trackingNumber", epc, gs1_key AS "gs1Key", status'
type Via = 'number' | 'epc' | 'sscc'

/**
 * The parcels a search-box query (trimmed and lower-cased) starts a key of: the tracking number in
 * any case, the tag's EPC (stored in upper case), the SSCC's digits. Every match when there are
 * few; when a key has more, the `limit` closest completions of it, which are what the ranking
 * (tracking/search.ts) puts first. Index ranges only, however many parcels there are.
 */
export async function searchParcels (sql: Sql, needle: string, limit: number): Promise<ParcelHit[]> {
  const prefix = `${escapeLike(needle)}%`
  const rows = await sql.query<ParcelHit & { via: Via }>(
    `(SELECT 'number' AS via, ${COLUMNS} FROM parcels
       WHERE (lower(tracking_number) COLLATE "C") LIKE $1 ORDER BY (lower(tracking_number) COLLATE "C") LIMIT $2)
     UNION ALL
     (SELECT 'epc' AS via, ${COLUMNS} FROM parcels
       WHERE $3 AND (epc COLLATE "C") LIKE upper($1) ORDER BY (epc COLLATE "C") LIMIT $2)
     UNION ALL
     (SELECT 'sscc' AS via, ${COLUMNS} FROM parcels
       WHERE $4 AND (gs1_key COLLATE "C") LIKE 'sscc:' || $1 ORDER BY (gs1_key COLLATE "C") LIMIT $2)`,
    [prefix, FEW + 1, /^[0-9a-f]+$/.test(needle), /^\d{1,18}$/.test(needle)])
  const hits = new Map<string, ParcelHit>()
  for (const via of ['number', 'epc', 'sscc'] as const) {
    let found: ParcelHit[] = rows.filter((row) => row.via === via)
    if (found.length > FEW && via !== 'sscc') found = await closestCompletions(sql, via, prefix, needle.length, limit)
    for (const { id, trackingNumber, epc, gs1Key, status } of found) hits.set(id, { id, trackingNumber, epc, gs1Key, status })
  }
  return [...hits.values()]
}

/** The `limit` shortest keys the prefix starts: one index range per key length, shortest first, stopping at `limit`. */
async function closestCompletions (sql: Sql, via: 'number' | 'epc', prefix: string, from: number, limit: number): Promise<ParcelHit[]> {
  const [key, pattern] = via === 'number' ? ['(lower(tracking_number) COLLATE "C")', '$1'] : ['(epc COLLATE "C")', 'upper($1)']
  const length = via === 'number' ? 'length(tracking_number)' : 'length(epc)'
  return await sql.query<ParcelHit>(
    `SELECT p.* FROM generate_series($2::int, $4::int) AS l(len)
     CROSS JOIN LATERAL (
       SELECT ${COLUMNS} FROM parcels WHERE ${length} = l.len AND ${key} LIKE ${pattern} ORDER BY ${key} LIMIT $3) p
     LIMIT $3`,
    [prefix, from, limit, MAX_KEY_LENGTH])
}

/** LIKE's own wildcards in what was typed match themselves. */
function escapeLike (text: string): string {
  return text.replace(/[\\%_]/g, '\\$&')
}
