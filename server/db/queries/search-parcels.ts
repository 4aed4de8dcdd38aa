import type { ParcelRecord } from '../../model.js'
import type { Sql } from '../sql.js'

export type ParcelHit = Pick<ParcelRecord, 'id' | 'trackingNumber' | 'epc' | 'gs1Key' | 'status'>

/** Longer than any tracking number (64) or EPC (124 hex digits) the API accepts. */
const MAX_KEY_LENGTH = 128

const COLUMNS = 'id, tracking_number AS "trackingNumber", epc, gs1_key AS "gs1Key", status'

/**
 * The parcels a search box query (already trimmed and lower-cased) starts a key of: the tracking
 * number in any case, the tag's EPC (stored in upper case), the SSCC's digits. For each of the
 * first two, one index range per key length, shortest first, stopping at `limit`: the closest
 * completions, which are what the ranking (tracking/search.ts) puts first, without reading every
 * parcel a one-letter query matches. At most `limit` of each kind come back, for the ranking.
 */
export async function searchParcels (sql: Sql, needle: string, limit: number): Promise<ParcelHit[]> {
  const hex = /^[0-9a-f]+$/.test(needle)
  const digits = /^\d{1,18}$/.test(needle)
  return await sql.query<ParcelHit>(
    `(SELECT p.* FROM generate_series($2::int, $4::int) AS l(len)
      CROSS JOIN LATERAL (
        SELECT ${COLUMNS} FROM parcels
         WHERE length(tracking_number) = l.len AND (lower(tracking_number) COLLATE "C") LIKE $1
         ORDER BY (lower(tracking_number) COLLATE "C") LIMIT $3) p
      LIMIT $3)
     UNION
     (SELECT p.* FROM generate_series($2::int, $4::int) AS l(len)
      CROSS JOIN LATERAL (
        SELECT ${COLUMNS} FROM parcels
         WHERE $5 AND length(epc) = l.len AND (epc COLLATE "C") LIKE upper($1)
         ORDER BY (epc COLLATE "C") LIMIT $3) p
      WHERE $5
      LIMIT $3)
     UNION
     (SELECT ${COLUMNS} FROM parcels
       WHERE $6 AND (gs1_key COLLATE "C") LIKE 'sscc:' || $1
       ORDER BY (gs1_key COLLATE "C") LIMIT $3)`,
    [`${escapeLike(needle)}%`, needle.length, limit, MAX_KEY_LENGTH, hex, digits])
}

/** LIKE's own wildcards in what was typed match themselves. */
function escapeLike (text: string): string {
  return text.replace(/[\\%_]/g, '\\$&')
}
