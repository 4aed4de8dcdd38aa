import { MILESTONE_CODES, MILESTONES } from '../../tracking/milestones.js'
import type { Sql } from '../sql.js'

/** The milestones that give a parcel an outcome for the KPIs; a later delivery replaces "lost". */
export const OUTCOME_CODES: ReadonlySet<string> = new Set(['delivered', 'returned_to_sender', 'suspected_lost'])

const EXCEPTION_CODES = MILESTONE_CODES.filter((code) => MILESTONES[code].exception)

/**
 * Rewrites the outcome rows of these parcels from their milestones, in the caller's transaction:
 * the final milestone (or the suspicion of loss), on time against the promise, attempts before
 * it, whether anything went wrong, and the cash expected and collected.
 */
const REMOVE = 'DELETE FROM parcel_outcomes WHERE parcel_id = ANY($1::uuid[])'
const REWRITE = `
WITH target AS (SELECT DISTINCT unnest($1::uuid[]) AS parcel_id)
INSERT INTO parcel_outcomes (time, parcel_id, outcome, partner, lane, station_id, on_time, attempts, had_exception, damaged,
                             currency, cod_expected, cod_collected)
SELECT f.time, p.id,
       CASE f.code WHEN 'delivered' THEN 'delivered' WHEN 'returned_to_sender' THEN 'returned' ELSE 'lost' END,
       coalesce(p.last_mile_partner, '(none)'),
       coalesce(p.origin_country, '*') || '>' || p.dest_country,
       coalesce((SELECT s.station_id FROM milestones s WHERE s.parcel_id = p.id AND s.station_id IS NOT NULL AND s.time <= f.time
                  ORDER BY s.time DESC, s.id DESC LIMIT 1), '(none)'),
       CASE WHEN p.promised_by IS NULL THEN NULL ELSE f.time <= p.promised_by END,
       (SELECT count(*) FROM milestones a WHERE a.parcel_id = p.id AND a.code = 'delivery_attempted' AND a.time <= f.time)::int,
       EXISTS (SELECT 1 FROM milestones e WHERE e.parcel_id = p.id AND e.code = ANY($2::text[])),
       EXISTS (SELECT 1 FROM milestones d WHERE d.parcel_id = p.id AND d.code = 'damaged'),
       coalesce(p.cod_currency, ''),
       coalesce(p.cod_amount, 0),
       coalesce((SELECT max((c.detail -> 'cod' ->> 'amount')::numeric) FROM milestones c
                  WHERE c.parcel_id = p.id AND c.detail ? 'cod' AND c.detail -> 'cod' ->> 'currency' = p.cod_currency), 0)
  FROM parcels p
  JOIN target t ON t.parcel_id = p.id
  CROSS JOIN LATERAL (
    SELECT m.code, m.time FROM milestones m
     WHERE m.parcel_id = p.id AND m.code IN ('delivered', 'returned_to_sender', 'suspected_lost')
     ORDER BY (m.code <> 'suspected_lost') DESC, m.time DESC, m.id DESC
     LIMIT 1) f`

export async function rewriteOutcomes (sql: Sql, parcelIds: readonly string[]): Promise<void> {
  await sql.query(REMOVE, [`{${parcelIds.join(',')}}`])
  await sql.query(REWRITE, [`{${parcelIds.join(',')}}`, `{${EXCEPTION_CODES.join(',')}}`])
}
