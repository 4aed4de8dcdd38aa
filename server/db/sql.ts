import type pg from 'pg'

/**
 * The little the database code needs from a connection. pg and PGlite both fit behind it, which
 * is how the TimescaleDB test runs exactly the migrations and policies the server runs.
 */
export interface Sql {
  /**
   * `prepared` names a statement the connection parses and plans once and then reuses: for the
   * hot read paths (a tracking link, the search box), whose planning costs more than their run.
   * The text under one name must never change.
   */
  query: <R extends object = Record<string, unknown>>(text: string, params?: readonly unknown[], prepared?: string) => Promise<R[]>
  /** Runs a script of several statements, without parameters. */
  exec: (script: string) => Promise<void>
}

/** With a timeout, each query overrides the pool's own (for maintenance that may take long). */
export function pgSql (client: pg.Pool | pg.PoolClient | pg.Client, queryTimeoutMs?: number): Sql {
  const config = (text: string, values?: readonly unknown[], name?: string): pg.QueryConfig =>
    ({ text, values: values as unknown[] | undefined, ...(name === undefined ? {} : { name }), ...(queryTimeoutMs === undefined ? {} : { query_timeout: queryTimeoutMs }) })
  return {
    query: async <R extends object>(text: string, params?: readonly unknown[], prepared?: string) =>
      (await client.query<R & pg.QueryResultRow>(config(text, params, prepared))).rows,
    exec: async (script) => { await client.query(config(script)) }
  }
}

export async function withTransaction<T> (pool: pg.Pool, work: (sql: Sql) => Promise<T>, queryTimeoutMs?: number): Promise<T> {
  const client = await pool.connect()
  let broken: Error | undefined
  try {
    await client.query('BEGIN')
    const result = await work(pgSql(client, queryTimeoutMs))
    await client.query('COMMIT')
    return result
  } catch (error) {
    // a client whose connection failed (or whose query timed out, still running) must not go
    // back to the pool: release(error) destroys it
    if (isTransientDbError(error)) broken = error as Error
    else await client.query('ROLLBACK').catch((rollback: unknown) => { broken = rollback as Error })
    throw error
  } finally {
    client.release(broken)
  }
}

const TRANSIENT_SQLSTATE_CLASSES = new Set([
  '08', // connection exception
  '40', // transaction rollback: serialization failure, deadlock
  '53', // insufficient resources
  '57', // operator intervention: admin shutdown, crash shutdown, cannot connect now
  '58' // system error (I/O)
])

/** True for failures that go away by themselves: retry them. False means the data was refused. */
export function isTransientDbError (error: unknown): boolean {
  if (!(error instanceof Error)) return false
  const sqlState = sqlStateOf(error)
  if (sqlState !== undefined) return TRANSIENT_SQLSTATE_CLASSES.has(sqlState.slice(0, 2))
  // a bug in our own code must not be retried forever
  if (error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError) return false
  // a socket error (ECONNREFUSED, ECONNRESET, ...) or a client that lost its connection
  return true
}

/** pg's own words for a connection that failed, timed out or was never made. */
const PG_CONNECTION_FAILURES = /^(Connection terminated|Query read timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended|Client was closed)/

/**
 * True when the database could not be used at all (refused, lost, timed out, shutting down), as
 * opposed to a statement it refused: the first is a 503 and worth retrying, the second a bug.
 */
export function isDatabaseUnavailable (error: unknown): boolean {
  if (!(error instanceof Error)) return false
  const sqlState = sqlStateOf(error)
  if (sqlState !== undefined) return TRANSIENT_SQLSTATE_CLASSES.has(sqlState.slice(0, 2))
  const { code } = error as { code?: unknown }
  return (typeof code === 'string' && /^E[A-Z]+$/.test(code)) || PG_CONNECTION_FAILURES.test(error.message)
}

/** Errors the server sent carry a severity and a SQLSTATE; socket errors carry an errno code instead. */
function sqlStateOf (error: Error): string | undefined {
  const { code, severity } = error as { code?: unknown, severity?: unknown }
  return typeof severity === 'string' && typeof code === 'string' ? code : undefined
}

export function isUniqueViolation (error: unknown): boolean {
  return error instanceof Error && sqlStateOf(error) === '23505'
}
