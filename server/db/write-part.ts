import type { Sql } from './sql.js'

/**
 * One write of a batch as the common table expressions of a larger statement: each body numbers
 * its parameters from $1, and names CTEs no other part uses. A group commit runs all of its parts
 * as one statement (write-batch.ts): between one statement and the next of a transaction, the
 * connection waited on a busy event loop for most of the time it held its locks.
 */
export interface WritePart {
  ctes: readonly Cte[]
  params: readonly unknown[]
  /** A CTE whose rows the statement counts, as `count`; the first part's that has one. */
  counted?: string
}

export interface Cte {
  name: string
  body: string
  /** computed once, whatever reads it (a CTE read twice is anyway; this says so) */
  materialized?: boolean
}

export interface CombinedStatement {
  text: string
  params: unknown[]
}

/** Every part's CTEs under one WITH, their parameters renumbered after the previous parts'. */
export function combineParts (parts: readonly WritePart[]): CombinedStatement {
  const params: unknown[] = []
  const ctes: string[] = []
  for (const part of parts) {
    const offset = params.length
    for (const { name, body, materialized } of part.ctes) {
      const numbered = offset === 0 ? body : body.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`)
      ctes.push(`${name} AS ${materialized === true ? 'MATERIALIZED ' : ''}(${numbered})`)
    }
    params.push(...part.params)
  }
  const counted = parts.find((part) => part.counted !== undefined)?.counted
  const select = counted === undefined ? 'SELECT 0 AS count' : `SELECT count(*)::int AS count FROM ${counted}`
  return { text: ctes.length === 0 ? select : `WITH ${ctes.join(',\n')}\n${select}`, params }
}

/** Runs the parts as one statement; the count of the first counted part's rows. */
export async function runParts (sql: Sql, parts: readonly WritePart[]): Promise<number> {
  const { text, params } = combineParts(parts)
  const [row] = await sql.query<{ count: number }>(text, params)
  return row?.count ?? 0
}
