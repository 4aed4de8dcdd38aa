import type { CarrierRef, ItemRef } from '../../tracking/custody.js'
import { numberArray, textArray } from '../pg-array.js'
import type { Sql } from '../sql.js'
import { runParts, type WritePart } from '../write-part.js'
import type { CustodyRow } from '../../model.js'

/** The newest move of each item wins, whatever order the moves are written in. */
const UPSERT = `
INSERT INTO custody (item, carrier, since)
SELECT DISTINCT ON (item) item, carrier, to_timestamp(ms / 1000.0)
  FROM unnest($1::text[], $2::text[], $3::float8[]) WITH ORDINALITY AS t(item, carrier, ms, n)
 ORDER BY item, ms DESC, n DESC
ON CONFLICT (item) DO UPDATE SET carrier = excluded.carrier, since = excluded.since
 WHERE custody.since <= excluded.since`

/** The batch's moves as a part of its one statement (write-part.ts). */
export function custodyPart (rows: readonly CustodyRow[]): WritePart {
  return {
    ctes: [{ name: 'custody_upserted', body: UPSERT }],
    params: [
      textArray(rows.map((row) => row.item)),
      textArray(rows.map((row) => row.carrier)),
      numberArray(rows.map((row) => row.since))
    ]
  }
}

export async function upsertCustody (sql: Sql, rows: readonly CustodyRow[]): Promise<void> {
  await runParts(sql, [custodyPart(rows)])
}

interface CustodyDbRow { item: ItemRef, carrier: CarrierRef | null, since_ms: number }

const toRow = (row: CustodyDbRow): CustodyRow => ({ item: row.item, carrier: row.carrier, since: row.since_ms })

/** Everything that rides in something now (by the custody_carrier index): a few per vehicle, however long the history. */
export async function selectCustodyAboard (sql: Sql): Promise<CustodyRow[]> {
  const rows = await sql.query<CustodyDbRow>(
    'SELECT item, carrier, floor(extract(epoch FROM since) * 1000)::float8 AS since_ms FROM custody WHERE carrier IS NOT NULL')
  return rows.map(toRow)
}

/** The custody of these items, wherever they are: a late move older than the last one is refused by it. */
export async function selectCustodyOf (sql: Sql, items: readonly ItemRef[]): Promise<CustodyRow[]> {
  if (items.length === 0) return []
  const rows = await sql.query<CustodyDbRow>(
    'SELECT item, carrier, floor(extract(epoch FROM since) * 1000)::float8 AS since_ms FROM custody WHERE item = ANY ($1::text[])',
    [textArray([...items].sort())])
  return rows.map(toRow)
}
