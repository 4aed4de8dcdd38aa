import type { CustodyRow } from '../../pipeline/write-set.js'
import type { CarrierRef, ItemRef } from '../../tracking/custody.js'
import { numberArray, textArray } from '../pg-array.js'
import type { Sql } from '../sql.js'

/** The newest move of each item wins, whatever order the moves are written in. */
const UPSERT = `
INSERT INTO custody (item, carrier, since)
SELECT DISTINCT ON (item) item, carrier, to_timestamp(ms / 1000.0)
  FROM unnest($1::text[], $2::text[], $3::float8[]) WITH ORDINALITY AS t(item, carrier, ms, n)
 ORDER BY item, ms DESC, n DESC
ON CONFLICT (item) DO UPDATE SET carrier = excluded.carrier, since = excluded.since
 WHERE custody.since <= excluded.since`

export async function upsertCustody (sql: Sql, rows: readonly CustodyRow[]): Promise<void> {
  await sql.query(UPSERT, [
    textArray(rows.map((row) => row.item)),
    textArray(rows.map((row) => row.carrier)),
    numberArray(rows.map((row) => row.since))
  ])
}

export async function selectCustody (sql: Sql): Promise<CustodyRow[]> {
  const rows = await sql.query<{ item: ItemRef, carrier: CarrierRef | null, since: Date }>(
    'SELECT item, carrier, since FROM custody')
  return rows.map((row) => ({ item: row.item, carrier: row.carrier, since: row.since.getTime() }))
}
