import type pg from 'pg'
import { advisoryUnlock, stillConnected, tryAdvisoryLock } from './queries/lease.js'
import { pgSql } from './sql.js'

/**
 * One instance at a time holds this: a PostgreSQL advisory lock taken on a connection kept for
 * it. PostgreSQL lets the lock go as soon as that connection ends, so when the holder dies (a
 * crash, kill -9, its machine gone and the TCP keepalive expired) another instance's next try
 * takes it. The holder checks its connection every time it is asked, and stops holding the
 * moment the check fails, so two instances never both believe they hold it.
 */
export class AdvisoryLease {
  private client: pg.PoolClient | undefined

  constructor (private readonly pool: pg.Pool, private readonly key: number, private readonly checkTimeoutMs: number) {}

  get held (): boolean {
    return this.client !== undefined
  }

  /** Takes the lease if free, or confirms it is still ours; answers whether this instance holds it. */
  async renew (): Promise<boolean> {
    if (this.client !== undefined) {
      try {
        await stillConnected(pgSql(this.client, this.checkTimeoutMs))
        return true
      } catch {
        this.drop()
        return false
      }
    }
    const client = await this.pool.connect()
    try {
      if (await tryAdvisoryLock(pgSql(client, this.checkTimeoutMs), this.key)) {
        this.client = client
        client.once('error', () => { if (this.client === client) this.drop() })
        return true
      }
      client.release()
    } catch (error) {
      client.release(error as Error)
    }
    return false
  }

  /** Lets it go at once, so another instance takes over without waiting for a check. */
  async release (): Promise<void> {
    const client = this.client
    if (client === undefined) return
    this.client = undefined
    try {
      await advisoryUnlock(pgSql(client, this.checkTimeoutMs), this.key)
      client.release()
    } catch (error) {
      client.release(error as Error)
    }
  }

  private drop (): void {
    const client = this.client
    this.client = undefined
    // destroyed, not returned: the lock must end with the connection
    client?.release(new Error('advisory lease lost'))
  }
}
