import type { Account } from '../../ledger/entries.js'
import type { Sql } from '../sql.js'

/**
 * Holds one holder's account (a driver's cash, a hub's, a partner's) until the transaction ends,
 * across every instance on the database: what reads its balance and then books against it (a
 * handover, a deposit, a settlement file) waits for another doing the same, so the same cash is
 * never taken twice. Bookings that only add to it (the door) need not wait.
 */
export async function lockHolder (sql: Sql, account: Account, holder: string): Promise<void> {
  await sql.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${account}:${holder}`])
}

/** What one holder's account holds now, per currency (zero balances left out). */
export async function selectHolderBalance (sql: Sql, account: Account, holder: string): Promise<Map<string, bigint>> {
  const rows = await sql.query<{ currency: string, minor: string }>(
    `SELECT currency, sum(amount)::text AS minor FROM ledger_lines
      WHERE account = $1 AND holder = $2 GROUP BY currency HAVING sum(amount) <> 0`, [account, holder])
  return new Map(rows.map((row) => [row.currency, BigInt(row.minor)]))
}
