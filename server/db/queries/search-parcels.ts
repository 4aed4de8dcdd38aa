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
 *
 * Each prefix is a range [prefix, its successor) rather than a LIKE: planning takes 1.4 ms of a
 * 1.7 ms search, and only a range can use the index under a generic plan of the named statement
 * (a LIKE parameter gives the planner no bounds). PostgreSQL still chooses custom plans for it;
 * the name saves the parse. A merchant's search reads the same ranges, keeping its own parcels only.
 */
export async function searchParcels (sql: Sql, needle: string, limit: number, merchantId: string | null = null): Promise<ParcelHit[]> {
  const number = prefixRange(needle)
  const epc = /^[0-9a-f]+$/.test(needle) ? prefixRange(needle.toUpperCase()) : null
  const sscc = /^\d{1,18}$/.test(needle) ? prefixRange(`sscc:${needle}`) : null
  if (number === null) return []
  const rows = await sql.query<ParcelHit>(
    `(SELECT p.* FROM generate_series($1::int, (SELECT max(length(tracking_number)) FROM parcels)) AS l(len)
      CROSS JOIN LATERAL (
        SELECT ${COLUMNS} FROM parcels
         WHERE length(tracking_number) = l.len
           AND (lower(tracking_number) COLLATE "C") >= $2 AND (lower(tracking_number) COLLATE "C") < $3
           AND ($9::text IS NULL OR merchant_id = $9)
         ORDER BY (lower(tracking_number) COLLATE "C") LIMIT $4) p
      LIMIT $4)
     UNION ALL
     (SELECT p.* FROM generate_series($1::int, (SELECT max(length(epc)) FROM parcels WHERE epc IS NOT NULL AND $5::text IS NOT NULL)) AS l(len)
      CROSS JOIN LATERAL (
        SELECT ${COLUMNS} FROM parcels
         WHERE epc IS NOT NULL AND length(epc) = l.len AND (epc COLLATE "C") >= $5 AND (epc COLLATE "C") < $6
           AND ($9::text IS NULL OR merchant_id = $9)
         ORDER BY (epc COLLATE "C") LIMIT $4) p
      LIMIT $4)
     UNION ALL
     (SELECT ${COLUMNS} FROM parcels
       WHERE gs1_key IS NOT NULL AND (gs1_key COLLATE "C") >= $7 AND (gs1_key COLLATE "C") < $8
         AND ($9::text IS NULL OR merchant_id = $9)
       ORDER BY (gs1_key COLLATE "C") LIMIT $4)`,
    [needle.length, number[0], number[1], limit, epc?.[0] ?? null, epc?.[1] ?? null, sscc?.[0] ?? null, sscc?.[1] ?? null, merchantId],
    'search-parcels')
  const hits = new Map<string, ParcelHit>()
  for (const hit of rows) hits.set(hit.id, hit)
  return [...hits.values()]
}

/**
 * The keys a prefix starts, in the C collation (code point order): from the prefix itself to the
 * first string after all of them, the prefix with its last character moved on by one. Null for a
 * prefix no string can follow (nothing but U+10FFFF), which no tracking number starts.
 */
export function prefixRange (prefix: string): [string, string] | null {
  const chars = [...prefix]
  while (chars.length > 0) {
    const last = (chars.pop() as string).codePointAt(0) as number
    if (last < 0x10ffff) {
      // the surrogates are not characters: after U+D7FF comes U+E000
      const next = last === 0xd7ff ? 0xe000 : last + 1
      return [prefix, chars.join('') + String.fromCodePoint(next)]
    }
  }
  return null
}
