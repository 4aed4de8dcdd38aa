import type pg from 'pg'

/**
 * The little the database code needs from a connection. pg and PGlite both fit behind it, which
 * is how the TimescaleDB test runs exactly the migrations and policies the server runs.
 */
export interface Sql {
  query: <R extends object = Record<string, unknown>>(text: string, params?: readonly unknown[]) => Promise<R[]>
  /** Runs a script of several statements, without parameters. */
  exec: (script: string) => Promise<void>
}

export function pgSql (client: pg.Pool | pg.PoolClient | pg.Client): Sql {
  return {
    query: async <R extends object>(text: string, params?: readonly unknown[]) =>
      (await client.query<R & pg.QueryResultRow>(text, params as unknown[] | undefined)).rows,
    exec: async (script) => { await client.query(script) }
  }
}

export async function withTransaction<T> (pool: pg.Pool, work: (sql: Sql) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    const result = await work(pgSql(client))
    await client.query('COMMIT')
    return result
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    throw error
  } finally {
    client.release()
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

/** Errors the server sent carry a severity and a SQLSTATE; socket errors carry an errno code instead. */
function sqlStateOf (error: Error): string | undefined {
  const { code, severity } = error as { code?: unknown, severity?: unknown }
  return typeof severity === 'string' && typeof code === 'string' ? code : undefined
}

export function isUniqueViolation (error: unknown): boolean {
  return error instanceof Error && sqlStateOf(error) === '23505'
}
