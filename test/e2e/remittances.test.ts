import { createHmac, timingSafeEqual } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildDueRemittances } from '../../server/db/build-remittances.js'
import { eventually } from '../support/clients.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'
import { startTestServer, type TestServer } from '../support/server.js'

interface Money { currency: string, minor: string, amount: string }
interface Batch { id: string, merchantId: string, currency: string, state: string, lines: number, gross: Money, fees: Money, deductions: Money, reversals: Money, net: Money, bankReference: string | null, approvedBy: string | null }
interface Line { parcelId: string, trackingNumber: string, deliveredAt: string | null, returned: boolean, cod: Money | null, rate: string | null, gross: Money, fee: Money, deduction: Money, reversal: Money, net: Money }
interface RunReport { built: Batch[], leftOut: Array<{ trackingNumber: string, reason: string, currency: string | null }>, notDue: number, alreadyRemitted: unknown[], failed: unknown[] }
interface Balance { account: string, holder: string, balance: Money }
interface Received { headers: http.IncomingHttpHeaders, raw: string, event: { id: string, type: string, remittance?: Record<string, unknown> } }

/** A real HTTP receiver that keeps every request, raw, for the signature. */
async function receiver (): Promise<{ url: string, received: Received[], close: () => Promise<void> }> {
  const received: Received[] = []
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8')
      received.push({ headers: request.headers, raw, event: JSON.parse(raw) as Received['event'] })
      response.writeHead(200).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/hook`, received, close: async () => { await new Promise((resolve) => server.close(resolve)) } }
}

function verifies (secret: string, received: Received): boolean {
  const timestamp = received.headers['x-trackstream-timestamp']
  const signature = received.headers['x-trackstream-signature']
  if (typeof timestamp !== 'string' || typeof signature !== 'string') return false
  const expected = `sha256=${createHmac('sha256', secret).update(`${timestamp}.${received.raw}`).digest('hex')}`
  return signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected))
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }
const HOUR = 3_600_000

/** A merchant's parcel with cash on delivery, delivered (the door's ledger entries with it). */
async function deliver (server: TestServer, merchantId: string, trackingNumber: string, amount: string, currency: string, time = Date.now() - HOUR): Promise<string> {
  const created = await server.api<{ id: string }>('POST', '/api/parcels', {
    trackingNumber, merchantId, destination: { city: 'Bangkok', country: 'TH', name: 'Somchai Jaidee', address: '99 Sukhumvit Soi 11' }, cashOnDelivery: { amount, currency }
  })
  expect(created.status, JSON.stringify(created.body)).toBe(201)
  const delivered = await server.api('POST', `/api/parcels/${created.body.id}/milestones`, { code: 'delivered', time: new Date(time).toISOString(), cod: { amount, currency } })
  expect(delivered.status, JSON.stringify(delivered.body)).toBe(201)
  return created.body.id
}

async function keyOf (server: TestServer, merchantId: string, scopes: string[]): Promise<Record<string, string>> {
  const { status, body } = await server.api<{ key: string }>('POST', '/api/keys', { name: `${merchantId} erp`, merchantId, scopes })
  expect(status).toBe(201)
  return { authorization: `Bearer ${body.key}` }
}

describe('remittance to merchants', () => {
  let server: TestServer
  let acmeHook: Awaited<ReturnType<typeof receiver>>
  let globexHook: Awaited<ReturnType<typeof receiver>>
  let acme: Record<string, string>
  let globex: Record<string, string>
  let acmeSecret: string
  const parcels: Record<string, string> = {}
  let batch: Batch

  const as = async <T>(headers: Record<string, string>, method: 'GET' | 'POST', url: string, payload?: Record<string, unknown>): Promise<{ status: number, body: T }> => {
    const answer = await server.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) })
    return { status: answer.statusCode, body: (answer.body === '' ? {} : answer.json()) as T }
  }

  beforeAll(async () => {
    // the sweep runs as the lease is taken, then not again during the test: the test builds by hand
    server = await startTestServer({ env: { WEBHOOK_POLL_MS: '50', REMITTANCE_SWEEP_MS: '86400000' } })
    acmeHook = await receiver()
    globexHook = await receiver()
    for (const id of ['acme', 'globex', 'initech']) expect((await server.api('POST', '/api/merchants', { id, name: id })).status).toBe(201)
    const settled = await server.api('PUT', '/api/merchants/acme/settlement', {
      currency: 'THB', timezone: 'Asia/Bangkok', cycle: { kind: 'days_after_delivery', days: 0, workingDays: false }, fees: { codFeeBasisPoints: 200, codFeeMinimum: 1500 }
    })
    expect(settled.status).toBe(200)
    acme = await keyOf(server, 'acme', ['webhooks', 'finance:read'])
    globex = await keyOf(server, 'globex', ['webhooks', 'finance:read'])
    const subscribed = await as<{ secret: string }>(acme, 'POST', '/api/webhooks', { url: acmeHook.url, events: ['remittance.created', 'remittance.paid'] })
    expect(subscribed.status).toBe(201)
    acmeSecret = subscribed.body.secret
    expect((await as(globex, 'POST', '/api/webhooks', { url: globexHook.url })).status).toBe(201)
    for (const [number, amount] of [['ACME-1', '450'], ['ACME-2', '300'], ['ACME-3', '1200.50']] as const) parcels[number] = await deliver(server, 'acme', number, amount, 'THB')
    // globex is paid on the default cycle (D+2 working days): its delivery today is not due
    parcels['GLX-1'] = await deliver(server, 'globex', 'GLX-1', '99', 'THB')
  })
  afterAll(async () => {
    await server?.close()
    await acmeHook?.close()
    await globexHook?.close()
  })

  it('builds one batch of exactly the due parcels, with a 2 % COD fee and its minimum', async () => {
    const run = await server.api<RunReport>('POST', '/api/remittances/run', {})
    expect(run.status, JSON.stringify(run.body)).toBe(200)
    expect(run.body.failed).toEqual([])
    expect(run.body.built).toHaveLength(1)
    batch = run.body.built[0] as Batch
    expect(batch).toMatchObject({
      merchantId: 'acme',
      currency: 'THB',
      state: 'created',
      lines: 3,
      gross: { currency: 'THB', minor: '195050', amount: '1950.50' },
      // 2 % of 450 and of 300 is under the minimum of 15.00; of 1200.50 it is 24.01
      fees: { currency: 'THB', minor: '5401', amount: '54.01' },
      deductions: { minor: '0' },
      reversals: { minor: '0' },
      net: { currency: 'THB', minor: '189649', amount: '1896.49' }
    })
    expect(run.body.notDue).toBe(1) // GLX-1

    const { body } = await server.api<Batch & { items: Line[] }>('GET', `/api/remittances/${batch.id}`)
    expect(body.items.map((l) => [l.trackingNumber, l.cod?.amount, l.gross.amount, l.fee.amount, l.net.amount, l.rate])).toEqual(expect.arrayContaining([
      ['ACME-1', '450.00', '450.00', '15.00', '435.00', null],
      ['ACME-2', '300.00', '300.00', '15.00', '285.00', null],
      ['ACME-3', '1200.50', '1200.50', '24.01', '1176.49', null]
    ]))
    expect(body.items).toHaveLength(3)
  })

  it('builds nothing more when run again: no second batch, no parcel twice', async () => {
    const again = await server.api<RunReport>('POST', '/api/remittances/run', { merchantId: 'acme' })
    expect(again.body.built).toEqual([])
    const list = await server.api<{ items: Batch[] }>('GET', '/api/remittances?merchantId=acme')
    expect(list.body.items.map((b) => b.id)).toEqual([batch.id])
    const twice = await server.db.pool.query('SELECT parcel_id FROM remittance_lines GROUP BY parcel_id HAVING count(*) > 1')
    expect(twice.rows).toEqual([])
    // and the database refuses a second line for a parcel, whoever writes it (one statement: nothing of it stays)
    await expect(server.db.pool.query(
      `WITH b AS (
         INSERT INTO remittance_batches (id, merchant_id, currency, cutoff, period_from, period_to, gross, fees, deductions, reversals, net, line_count, created_at, created_by)
         VALUES (gen_random_uuid(), 'acme', 'THB', now(), now(), now(), 1, 0, 0, 0, 1, 1, now(), 'test') RETURNING id)
       INSERT INTO remittance_lines (batch_id, parcel_id, event_at, returned, gross, fee, deduction, reversal, net)
       SELECT id, $1, now(), false, 1, 0, 0, 0, 1 FROM b`, [parcels['ACME-1']])).rejects.toThrow(/duplicate key/)
    await expect(server.db.pool.query('UPDATE remittance_batches SET net = net + 1 WHERE id = $1', [batch.id])).rejects.toThrow(/refused/)
  })

  it('hides the batch from another merchant: 404 by id and for its statement, and not in its list', async () => {
    expect((await as(globex, 'GET', `/api/remittances/${batch.id}`)).status).toBe(404)
    expect((await as(globex, 'GET', `/api/remittances/${batch.id}/statement.csv`)).status).toBe(404)
    expect((await as<{ items: unknown[] }>(globex, 'GET', '/api/remittances')).body.items).toEqual([])
    expect((await as<{ items: unknown[] }>(globex, 'GET', '/api/remittances?merchantId=acme')).body.items).toEqual([])
    expect((await as<{ items: Batch[] }>(acme, 'GET', '/api/remittances')).body.items.map((b) => b.id)).toEqual([batch.id])
    expect((await as(acme, 'GET', `/api/remittances/${batch.id}`)).status).toBe(200)
    // a merchant cannot approve or pay its own batch
    expect((await as(acme, 'POST', `/api/remittances/${batch.id}/approve`, {})).status).toBe(403)
  })

  it('gives the merchant its statement as CSV: a row per parcel and a totals row, no buyer data', async () => {
    const response = await fetch(`${server.httpUrl}/api/remittances/${batch.id}/statement.csv`, { headers: acme })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/)
    expect(response.headers.get('content-disposition')).toContain(`remittance-acme-${batch.id}.csv`)
    const text = await response.text()
    expect(text).not.toMatch(/Somchai|Sukhumvit/)
    const rows = text.trim().split('\r\n').map((row) => row.split(','))
    expect(rows[0]).toEqual(['tracking_number', 'delivered_at', 'returned', 'cod_amount', 'cod_currency', 'fx_rate', 'gross', 'fee', 'deduction', 'reversal', 'net', 'currency'])
    expect(rows.slice(1, -1).map((r) => [r[0], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11]]).sort()).toEqual([
      ['ACME-1', 'no', '450.00', 'THB', '', '450.00', '15.00', '0.00', '0.00', '435.00', 'THB'],
      ['ACME-2', 'no', '300.00', 'THB', '', '300.00', '15.00', '0.00', '0.00', '285.00', 'THB'],
      ['ACME-3', 'no', '1200.50', 'THB', '', '1200.50', '24.01', '0.00', '0.00', '1176.49', 'THB']
    ])
    for (const row of rows.slice(1, -1)) expect(Number.isNaN(Date.parse(row[1] as string))).toBe(false)
    expect(rows.at(-1)).toEqual(['TOTAL', '', '', '', '', '', '1950.50', '54.01', '0.00', '0.00', '1896.49', 'THB'])
  })

  it('is approved, then paid with the bank\'s reference; each step only once and in order', async () => {
    expect((await server.api('POST', `/api/remittances/${batch.id}/paid`, { bankReference: 'KBANK-0001' })).status).toBe(409)
    const approved = await server.api<Batch>('POST', `/api/remittances/${batch.id}/approve`, {})
    expect(approved.status).toBe(200)
    expect(approved.body).toMatchObject({ state: 'approved', approvedBy: 'installation' })
    expect((await server.api('POST', `/api/remittances/${batch.id}/approve`, {})).status).toBe(409)
    const paid = await server.api<Batch>('POST', `/api/remittances/${batch.id}/paid`, { bankReference: 'KBANK-0001' })
    expect(paid.status).toBe(200)
    expect(paid.body).toMatchObject({ state: 'paid', bankReference: 'KBANK-0001' })
    expect((await server.api('POST', `/api/remittances/${batch.id}/paid`, { bankReference: 'KBANK-0002' })).status).toBe(409)
    expect((await server.api('POST', '/api/remittances/00000000-0000-4000-8000-000000000000/approve', {})).status).toBe(404)
  })

  it('leaves the merchant\'s payable for those parcels at zero, the bank down by the net and the fees earned', async () => {
    const nets: Record<string, number> = { 'ACME-1': 43500, 'ACME-2': 28500, 'ACME-3': 117649 }
    const { body } = await server.api<{ items: Balance[] }>('GET', '/api/cash/balances')
    const of = (account: string, holder: string): string | undefined => body.items.find((b) => b.account === account && b.holder === holder)?.balance.minor
    // globex's undue parcel is all that is still owed
    expect(body.items.filter((b) => b.account === 'merchant_payable')).toEqual([{ account: 'merchant_payable', holder: 'globex', balance: { currency: 'THB', minor: '-9900', amount: '-99.00' }, since: expect.any(String) }])
    expect(of('bank', '')).toBe('-189649')
    expect(of('fees', '')).toBe('-5401')
    for (const number of ['ACME-1', 'ACME-2', 'ACME-3']) {
      const { body: entries } = await server.api<{ items: Array<{ key: string, lines: Array<{ account: string, holder: string, money: Money }> }> }>('GET', `/api/parcels/${parcels[number] ?? ''}/ledger`)
      // what the parcel still owed the merchant once built is its line's net, which the payout then paid
      const payable = entries.items.flatMap((e) => e.lines).filter((l) => l.account === 'merchant_payable').reduce((sum, l) => sum + BigInt(l.money.minor), 0n)
      expect(payable, number).toBe(-BigInt(nets[number] ?? 0))
      expect(entries.items.map((e) => e.key)).toEqual(expect.arrayContaining([`remittance-fee:${batch.id}:${parcels[number] ?? ''}`]))
    }
    const payout = await server.db.pool.query<{ cause: string, cause_ref: string, lines: string[] }>(
      `SELECT e.cause, e.cause_ref, array_agg(l.account || ':' || l.holder || ':' || l.amount ORDER BY l.account) AS lines
         FROM ledger_entries e JOIN ledger_lines l ON l.entry_id = e.id WHERE e.key = $1 GROUP BY e.id`, [`remittance-paid:${batch.id}`])
    expect(payout.rows).toEqual([{ cause: 'remittance', cause_ref: 'KBANK-0001', lines: ['bank::-189649', 'merchant_payable:acme:189649'] }])
  })

  it('sends the merchant remittance.created and remittance.paid, signed, once each, with totals and no buyer data', async () => {
    await eventually(async () => { expect(acmeHook.received.map((r) => r.event.type).sort()).toEqual(['remittance.created', 'remittance.paid']) }, 10_000)
    await sleep(500)
    expect(acmeHook.received).toHaveLength(2)
    for (const received of acmeHook.received) {
      expect(verifies(acmeSecret, received)).toBe(true)
      expect(received.raw).not.toMatch(/Somchai|Sukhumvit|ACME-1/)
      expect(received.event.remittance).toMatchObject({ id: batch.id, merchantId: 'acme', lines: 3, net: { currency: 'THB', minor: '189649', amount: '1896.49' } })
    }
    expect(acmeHook.received.find((r) => r.event.type === 'remittance.paid')?.event.remittance).toMatchObject({ state: 'paid', bankReference: 'KBANK-0001' })
    // globex's subscription takes every event, but not another merchant's remittances
    expect(globexHook.received.filter((r) => r.event.type.startsWith('remittance.'))).toEqual([])
  })

  it('converts a parcel in another currency at the rate entered, records it, and leaves one without a rate out until there is one', async () => {
    expect((await server.api('PUT', '/api/merchants/initech/settlement', {
      currency: 'THB', timezone: 'UTC', cycle: { kind: 'days_after_delivery', days: 0, workingDays: false }, fees: { codFeeBasisPoints: 100, returnCharge: 4000 }
    })).status).toBe(200)
    await deliver(server, 'initech', 'INI-JPY', '1000', 'JPY')
    const back = await deliver(server, 'initech', 'INI-BACK', '300', 'THB')
    expect((await server.api('POST', `/api/parcels/${back}/milestones`, { code: 'returned_to_sender', time: new Date(Date.now() - HOUR / 2).toISOString() })).status).toBe(201)

    const first = await server.api<RunReport>('POST', '/api/remittances/run', { merchantId: 'initech' })
    expect(first.body.leftOut).toEqual([expect.objectContaining({ trackingNumber: 'INI-JPY', reason: 'no_rate', currency: 'JPY' })])
    expect(first.body.built).toHaveLength(1)
    expect(first.body.built[0]).toMatchObject({ lines: 1, gross: { minor: '30000' }, reversals: { minor: '30000' }, deductions: { minor: '4000' }, net: { minor: '-4000' } })

    const rate = await server.api<{ rate: string }>('POST', '/api/cash/fx-rates', { from: 'JPY', to: 'THB', rate: '0.2351', validFrom: new Date(Date.now() - 60_000).toISOString() })
    expect(rate.status).toBe(201)
    const validFrom = (rate.body as { validFrom?: string }).validFrom
    expect((await server.api('POST', '/api/cash/fx-rates', { from: 'JPY', to: 'THB', rate: '0.23510', validFrom })).status).toBe(200) // the same rate again
    expect((await server.api('POST', '/api/cash/fx-rates', { from: 'JPY', to: 'THB', rate: '0.2352', validFrom })).status).toBe(409) // rates are never changed
    expect((await server.api('POST', '/api/cash/fx-rates', { from: 'JPY', to: 'JPY', rate: '1' })).status).toBe(422)
    expect((await server.api('POST', '/api/cash/fx-rates', { from: 'JPY', to: 'THB', rate: 0.1 })).status).toBe(201) // coerced to "0.1", never a float in the database
    const rates = await server.api<{ items: Array<{ from: string, to: string, rate: string }> }>('GET', '/api/cash/fx-rates?from=JPY')
    expect(rates.body.items.map((r) => r.rate).sort()).toEqual(['0.1', '0.2351'])

    const second = await server.api<RunReport>('POST', '/api/remittances/run', { merchantId: 'initech' })
    expect(second.body.leftOut).toEqual([])
    const built = second.body.built[0] as Batch
    const { body } = await server.api<{ items: Line[] }>('GET', `/api/remittances/${built.id}`)
    // ¥1000 at the newest rate in force (0.1): ฿100.00, fee 1 %
    expect(body.items).toEqual([expect.objectContaining({ trackingNumber: 'INI-JPY', cod: { currency: 'JPY', minor: '1000', amount: '1000' }, rate: '0.1', gross: expect.objectContaining({ minor: '10000' }), fee: expect.objectContaining({ minor: '100' }), net: expect.objectContaining({ minor: '9900' }) })])
    const { body: entries } = await server.api<{ items: Array<{ key: string, detail: Record<string, unknown> }> }>('GET', `/api/parcels/${body.items[0]?.parcelId ?? ''}/ledger`)
    expect(entries.items.find((e) => e.key.startsWith('remittance-fx:'))?.detail).toEqual({ rate: '0.1', from: 'JPY', to: 'THB' })
  })
})

describe('remittance across instances and restarts', () => {
  let db: TestDatabase
  const servers: TestServer[] = []
  let hook: Awaited<ReturnType<typeof receiver>>

  beforeAll(async () => {
    db = await createTestDatabase()
    hook = await receiver()
  })
  afterAll(async () => {
    for (const server of servers) await server.close()
    await hook?.close()
    await db?.drop()
  })

  const start = async (env: Record<string, string>): Promise<TestServer> => {
    const server = await startTestServer({ db, env })
    servers.push(server)
    return server
  }
  const stop = async (server: TestServer): Promise<void> => {
    await server.close()
    servers.splice(servers.indexOf(server), 1)
  }

  it('never pays a parcel twice when two instances build at once, and their schedulers too', async () => {
    const a = await start({ REMITTANCE_SWEEP_MS: '86400000' })
    const b = await start({ REMITTANCE_SWEEP_MS: '86400000' })
    expect((await a.api('POST', '/api/merchants', { id: 'acme', name: 'Acme' })).status).toBe(201)
    expect((await a.api('PUT', '/api/merchants/acme/settlement', { currency: 'THB', timezone: 'UTC', cycle: { kind: 'days_after_delivery', days: 0, workingDays: false } })).status).toBe(200)
    const ids: string[] = []
    for (let i = 0; i < 20; i++) ids.push(await deliver(i % 2 === 0 ? a : b, 'acme', `TWO-${i}`, `${100 + i}`, 'THB'))
    // both instances, each twice, at the same moment, straight past the lease
    const reports = await Promise.all([a, b, a, b].map(async (server) => await buildDueRemittances(server.app.db.pool, { now: Date.now(), actor: 'test' })))
    expect(reports.flatMap((r) => r.failed)).toEqual([])
    expect(reports.flatMap((r) => r.built)).toHaveLength(1)
    const { rows } = await db.pool.query<{ lines: number, parcels: number }>('SELECT count(*)::int AS lines, count(DISTINCT parcel_id)::int AS parcels FROM remittance_lines')
    expect(rows[0]).toEqual({ lines: 20, parcels: 20 })
    // more parcels, and now the schedulers of both instances every 100 ms alongside manual runs on both
    await stop(a)
    await stop(b)
    const c = await start({ REMITTANCE_SWEEP_MS: '100' })
    const d = await start({ REMITTANCE_SWEEP_MS: '100' })
    for (let i = 20; i < 30; i++) ids.push(await deliver(i % 2 === 0 ? c : d, 'acme', `TWO-${i}`, `${100 + i}`, 'THB'))
    await Promise.all([c, d, c, d].map(async (server) => await buildDueRemittances(server.app.db.pool, { now: Date.now(), actor: 'test' })))
    await eventually(async () => {
      const { rows: now } = await db.pool.query<{ lines: number, parcels: number }>('SELECT count(*)::int AS lines, count(DISTINCT parcel_id)::int AS parcels FROM remittance_lines')
      expect(now[0]).toEqual({ lines: 30, parcels: 30 })
    }, 10_000)
    const { rows: sums } = await db.pool.query<{ batches: string, lines: string }>('SELECT sum(line_count)::text AS lines, count(*)::text AS batches FROM remittance_batches')
    expect(sums[0]?.lines).toBe('30')
    // each parcel's COD was booked out of the merchant's payable once: the fee-less batches booked nothing yet, so it is all still owed
    const { rows: payable } = await db.pool.query<{ minor: string }>("SELECT sum(amount)::text AS minor FROM ledger_lines WHERE account = 'merchant_payable' AND holder = 'acme'")
    expect(payable[0]?.minor).toBe(String(-100 * (30 * 100 + (29 * 30) / 2)))
    await stop(c)
    await stop(d)
  })

  it('sends a batch\'s webhook after a crash between writing the batch and sending it, once', async () => {
    // the dispatcher polls once a minute here: only the commits of milestones wake it, and the build does not
    const a = await start({ WEBHOOK_POLL_MS: '60000', REMITTANCE_SWEEP_MS: '86400000' })
    expect((await a.api('POST', '/api/merchants', { id: 'globex', name: 'Globex' })).status).toBe(201)
    expect((await a.api('PUT', '/api/merchants/globex/settlement', { currency: 'THB', timezone: 'UTC', cycle: { kind: 'days_after_delivery', days: 0, workingDays: false } })).status).toBe(200)
    const key = await keyOf(a, 'globex', ['webhooks'])
    const subscribed = await a.app.inject({ method: 'POST', url: '/api/webhooks', headers: key, payload: { url: hook.url, events: ['remittance.created'] } })
    expect(subscribed.statusCode).toBe(201)
    await deliver(a, 'globex', 'CRASH-1', '450', 'THB')
    // the last milestone's wake-up has come and gone
    await sleep(500)
    const report = await buildDueRemittances(a.app.db.pool, { now: Date.now(), actor: 'test' })
    expect(report.built).toHaveLength(1)
    await stop(a)
    const { rows } = await db.pool.query("SELECT dispatched_at FROM webhook_outbox WHERE type = 'remittance.created' AND merchant_id = 'globex'")
    expect(rows).toEqual([{ dispatched_at: null }])
    expect(hook.received).toEqual([])

    const b = await start({ WEBHOOK_POLL_MS: '50' })
    await eventually(async () => { expect(hook.received).toHaveLength(1) }, 10_000)
    expect(hook.received[0]?.event).toMatchObject({ type: 'remittance.created', remittance: { id: report.built[0]?.id, merchantId: 'globex', lines: 1 } })
    await stop(b)
    const c = await start({ WEBHOOK_POLL_MS: '50' })
    await sleep(1000)
    expect(hook.received).toHaveLength(1)
    await stop(c)
  })
})
