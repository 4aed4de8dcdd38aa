import { randomUUID } from 'node:crypto'
import { buildDueRemittances } from '../../server/db/build-remittances.js'
import { writeBatch } from '../../server/db/write-batch.js'
import { postEntries } from '../../server/db/queries/ledger.js'
import { pgSql, withTransaction } from '../../server/db/sql.js'
import { doorEntries } from '../../server/ledger/door.js'
import { emptyWriteSet, type MilestoneRow } from '../../server/model.js'
import { benchDatabase } from '../lib/stage.js'

export interface LedgerOptions {
  parcels: number
  /** Entries per statement, as a remittance or a batch of deliveries writes them. */
  chunk: number
}

export interface LedgerRun {
  target: string
  rows: number
  seconds: number
  perSecond: number
}

/**
 * What the cash ledger costs (issue 15):
 * - posting: the door entries of `parcels` COD deliveries (two entries, four lines each) through
 *   postEntries, against the same rows into copies of the tables without the guarantees (the
 *   balance check at commit, the append-only triggers, the unique key), in one run;
 * - the group commit: delivered milestones with cash on delivery through writeBatch, which books
 *   their cash in the same transaction, against the same milestones without cash;
 * - the remittance of every one of those parcels in one batch.
 */
export async function ledger (options: LedgerOptions, log: (line: string) => void): Promise<{ database: string, runs: LedgerRun[] }> {
  const db = await benchDatabase('trackstream_bench_ledger')
  const runs: LedgerRun[] = []
  try {
    const withCod = await seed(db.pool, options.parcels, 'COD')
    const withoutCod = await seed(db.pool, options.parcels, 'PLAIN')
    const sql = pgSql(db.pool)
    await sql.exec(`CREATE TABLE bare_entries (LIKE ledger_entries INCLUDING DEFAULTS); CREATE TABLE bare_lines (LIKE ledger_lines)`)
    const entries = withCod.flatMap((id, n) => doorEntries(delivered(id, n, true), { id, merchantId: 'acme', codAmount: '450.00', codCurrency: 'THB' }))

    runs.push(await timed(`postEntries: ${entries.length} entries, ${entries.length * 2} lines, ${options.chunk} a statement`, entries.length, async () => {
      for (let i = 0; i < entries.length; i += options.chunk) {
        await withTransaction(db.pool, async (tx) => { await postEntries(tx, entries.slice(i, i + options.chunk)) })
      }
    }))
    log(`${runs.at(-1)?.target}: ${runs.at(-1)?.perSecond} entries/s`)
    runs.push(await timed('the same rows into bare copies of the tables (no balance check, no triggers, no unique key)', entries.length, async () => {
      for (let i = 0; i < entries.length; i += options.chunk) {
        const chunk = entries.slice(i, i + options.chunk)
        const lines = chunk.flatMap((entry) => entry.lines.map((l) => ({ key: entry.key, ...l })))
        await withTransaction(db.pool, async (tx) => {
          await tx.query(`WITH e AS (INSERT INTO bare_entries (id, key, at, cause, parcel_id, merchant_id, detail)
                            SELECT nextval('ledger_entries_id_seq'), * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::uuid[], $5::text[], $6::jsonb[]) RETURNING id, key)
                          INSERT INTO bare_lines (entry_id, account, holder, currency, amount, parcel_id)
                          SELECT e.id, l.account, l.holder, l.currency, l.amount, l.parcel_id
                            FROM unnest($7::text[], $8::text[], $9::text[], $10::text[], $11::bigint[], $12::uuid[]) AS l(key, account, holder, currency, amount, parcel_id)
                            JOIN e ON e.key = l.key`,
          [chunk.map((e) => e.key), chunk.map((e) => e.at), chunk.map((e) => e.cause), chunk.map((e) => e.parcelId), chunk.map((e) => e.merchantId), chunk.map((e) => JSON.stringify(e.detail)),
            lines.map((l) => l.key), lines.map((l) => l.account), lines.map((l) => l.holder), lines.map((l) => l.money.currency), lines.map((l) => l.money.minor.toString()), lines.map((l) => l.parcelId)])
        })
      }
    }))
    log(`${runs.at(-1)?.target}: ${runs.at(-1)?.perSecond} entries/s`)

    const commit = async (ids: string[], cod: boolean): Promise<void> => {
      for (let i = 0; i < ids.length; i += options.chunk) {
        await writeBatch(db.pool, { ...emptyWriteSet(), milestones: ids.slice(i, i + options.chunk).map((id, n) => delivered(id, i + n, cod)) })
      }
    }
    runs.push(await timed(`group commit: ${withoutCod.length} delivered milestones without cash, ${options.chunk} a batch`, withoutCod.length, async () => { await commit(withoutCod, false) }))
    log(`${runs.at(-1)?.target}: ${runs.at(-1)?.perSecond} milestones/s`)
    runs.push(await timed(`group commit: ${withCod.length} delivered milestones with cash on delivery, booked in the same transaction`, withCod.length, async () => { await commit(withCod, true) }))
    log(`${runs.at(-1)?.target}: ${runs.at(-1)?.perSecond} milestones/s`)

    // the door entries posted above are 100,000 collected parcels queued for acme: one batch
    await db.pool.query(`UPDATE merchants SET settlement_currency = 'THB', settlement_cycle = '{"kind": "days_after_delivery", "days": 0, "workingDays": false}',
                                fees = '{"codFeeBasisPoints": 200, "codFeeMinimum": 1500}' WHERE id = 'acme'`)
    let lines = 0
    runs.push(await timed(`one remittance batch of every collected parcel (${options.parcels}): plan, lines, fee entries, outbox event, in one transaction`, options.parcels, async () => {
      const report = await buildDueRemittances(db.pool, { now: Date.now() + 86_400_000, actor: 'bench' })
      if (report.failed.length > 0) throw new Error(`remittance failed: ${JSON.stringify(report.failed)}`)
      lines = report.built.reduce((sum, batch) => sum + batch.totals.lines, 0)
    }))
    log(`${runs.at(-1)?.target}: ${lines} lines, ${runs.at(-1)?.seconds} s, ${runs.at(-1)?.perSecond} parcels/s`)
    if (lines !== options.parcels) throw new Error(`the batch holds ${lines} lines, not ${options.parcels}`)
    return { database: db.server, runs }
  } finally {
    await db.drop()
  }
}

async function seed (pool: import('pg').Pool, count: number, prefix: string): Promise<string[]> {
  const ids = Array.from({ length: count }, () => randomUUID())
  await pool.query("INSERT INTO merchants (id, name) VALUES ('acme', 'Acme') ON CONFLICT DO NOTHING")
  await pool.query(
    `INSERT INTO parcels (id, tracking_number, public_token, status, status_at, dest_city, dest_country, cod_amount, cod_currency, merchant_id)
     SELECT id, $2 || n, md5(id::text), 'out_for_delivery', now(), 'Bangkok', 'TH', 450, 'THB', 'acme' FROM unnest($1::uuid[]) WITH ORDINALITY AS t(id, n)`,
    [ids, prefix])
  return ids
}

function delivered (parcelId: string, n: number, cod: boolean): MilestoneRow {
  return {
    parcelId,
    code: 'delivered',
    time: Date.now() - 3_600_000 + n,
    stationId: null,
    lat: null,
    lon: null,
    source: 'driver',
    deviceId: `driver-${n % 50}`,
    vehicleId: null,
    detail: cod ? { cod: { amount: '450.00', currency: 'THB' } } : null,
    note: null
  }
}

async function timed (target: string, rows: number, work: () => Promise<void>): Promise<LedgerRun> {
  const started = process.hrtime.bigint()
  await work()
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  return { target, rows, seconds: Math.round(seconds * 100) / 100, perSecond: Math.round(rows / seconds) }
}
