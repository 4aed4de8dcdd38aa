import pg from 'pg'

export interface PoolOptions {
  connectionString: string
  /** How long a connection attempt, or a wait for a free client, may take. */
  connectTimeoutMs: number
  /**
   * How long any one query may wait for its answer. A database that is black-holed (connections
   * open, nothing passes) never closes a socket, so only a timer notices; the client is then
   * destroyed and its transaction, if the server ever sees it, rolled back.
   */
  queryTimeoutMs: number
  max?: number
  log: { warn: (obj: object, msg: string) => void }
}

/**
 * A pool that survives its database: pg emits 'error' on a client that loses its connection while
 * checked out, and an 'error' nobody listens to ends the process. Every client gets a listener
 * for its whole life; the query in flight fails on its own and the pool throws the client away.
 */
export function createPool (options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs,
    query_timeout: options.queryTimeoutMs,
    keepAlive: true,
    application_name: 'trackstream'
  })
  const lost = (error: Error): void => { options.log.warn({ reason: error.message }, 'database connection lost') }
  pool.on('error', lost)
  pool.on('connect', (client) => { client.on('error', lost) })
  return pool
}

/** A round trip that answers false, not never, when the database is gone or black-holed. */
export async function pingDatabase (pool: pg.Pool, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<false>((resolve) => { timer = setTimeout(resolve, timeoutMs, false) })
  const ping = pool.query({ text: 'SELECT 1', query_timeout: timeoutMs } as pg.QueryConfig).then(() => true, () => false)
  try {
    return await Promise.race([ping, timeout])
  } finally {
    clearTimeout(timer)
  }
}
