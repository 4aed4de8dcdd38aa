import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, TEST_API_KEY, type TestServer } from '../support/server.js'

interface Money { currency: string, minor: string, amount: string }
interface Balance { account: string, holder: string, balance: Money }
interface Handover { id: string, driver: string, stationId: string, countedBy: string, discrepancy: boolean, exceptionIds: string[], lines: Array<{ currency: string, expected: Money, declared: Money, counted: Money, difference: Money, findings: string[] }> }
interface Line { line: number, trackingNumber: string, status: string, paid: Money | null, expected: Money | null, difference: Money | null, partnerReference: string | null, problem: string | null, booked: boolean }
interface Report { import: { id: string, reference: string, summary: { lines: number, counts: Record<string, number>, booked: Money[] } }, lines: Line[], missing: Array<{ trackingNumber: string, expected: Money | null }> }

const thb = (amount: string): { currency: string, amount: string } => ({ currency: 'THB', amount })

describe('the hands cash passes after the door: handovers, deposits, partners\' settlement files', () => {
  let server: TestServer
  const secrets: Record<string, string> = {}
  const now = (): number => Date.now() - 60_000

  const balances = async (account?: string): Promise<Array<[string, string, string]>> =>
    (await server.api<{ items: Balance[] }>('GET', `/api/cash/balances${account === undefined ? '' : `?account=${account}`}`)).body.items
      .map((b) => [b.account, b.holder, b.balance.amount])
  const holderBalance = async (account: string, holder: string, on: TestServer = server): Promise<string | undefined> =>
    (await on.api<{ items: Balance[] }>('GET', `/api/cash/balances?account=${account}`)).body.items.find((b) => b.holder === holder)?.balance.amount
  const driverEvents = async (on: TestServer, driver: string, events: unknown[]): Promise<void> => {
    const response = await fetch(`${on.httpUrl}/api/driver/events`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${driver}:${secrets[driver] ?? ''}`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify(events)
    })
    expect(response.status).toBe(200)
    expect((await response.json() as { rejects: unknown[] }).rejects).toEqual([])
  }
  const parcel = async (trackingNumber: string, amount: number, extra: Record<string, unknown> = {}): Promise<void> => {
    const created = await server.api('POST', '/api/parcels', { trackingNumber, merchantId: 'acme', destination: { city: 'Bangkok', country: 'TH' }, cashOnDelivery: { amount, currency: 'THB' }, ...extra })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
  }
  const post = async <T>(path: string, body: unknown, headers: Record<string, string> = {}, on: TestServer = server): Promise<{ status: number, body: T }> => {
    const response = await fetch(`${on.httpUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body)
    })
    return { status: response.status, body: await response.json() as T }
  }
  const importFile = async (partner: string, reference: string, csv: string): Promise<{ status: number, body: Report }> => {
    const response = await fetch(`${server.httpUrl}/api/cash/partners/${partner}/settlements?reference=${encodeURIComponent(reference)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'text/csv; charset=utf-8' },
      body: csv
    })
    return { status: response.status, body: await response.json() as Report }
  }

  beforeAll(async () => {
    server = await startTestServer()
    expect((await server.api('POST', '/api/merchants', { id: 'acme', name: 'Acme' })).status).toBe(201)
    expect((await server.api('POST', '/api/stations', { id: 'HUB-BKK', name: 'Bangkok hub', kind: 'hub', lat: 13.7, lon: 100.6, city: 'Bangkok', country: 'TH' })).status).toBe(201)
    for (const driver of ['driver-7', 'driver-8']) secrets[driver] = (await server.registerDevice(driver)).secret
  })
  afterAll(async () => { await server?.close() })

  it('takes a driver\'s cash at the hub counted blind: 20 THB short is a shortage against the driver and a discrepancy exception', async () => {
    for (const [number, amount] of [['COD-1', 450], ['COD-2', 300], ['COD-3', 250]] as const) await parcel(number, amount)
    await driverEvents(server, 'driver-7', [
      { type: 'delivered', parcel: 'COD-1', time: now(), cod: { amount: '450.00', currency: 'THB' } },
      { type: 'delivered', parcel: 'COD-2', time: now() + 1, cod: { amount: '300', currency: 'THB' } },
      { type: 'delivered', parcel: 'COD-3', time: now() + 2, cod: { amount: '250', currency: 'THB' } }
    ])
    expect(await holderBalance('driver_cash', 'driver-7')).toBe('1000.00')

    const handover = { id: 'shift-7-1', driver: 'driver-7', stationId: 'HUB-BKK', declaredByDriver: [thb('1000')], countedByCashier: [thb('980.00')] }
    const first = await post<Handover>('/api/cash/handovers', handover)
    expect(first.status, JSON.stringify(first.body)).toBe(201)
    expect(first.body).toMatchObject({ id: 'shift-7-1', driver: 'driver-7', stationId: 'HUB-BKK', countedBy: 'installation', discrepancy: true })
    expect(first.body.lines).toEqual([{
      currency: 'THB',
      expected: { currency: 'THB', minor: '100000', amount: '1000.00' },
      declared: { currency: 'THB', minor: '100000', amount: '1000.00' },
      counted: { currency: 'THB', minor: '98000', amount: '980.00' },
      difference: { currency: 'THB', minor: '-2000', amount: '-20.00' },
      findings: ['shortfall', 'declaration_differs']
    }])
    expect(first.body.exceptionIds).toHaveLength(1)

    const all = await balances()
    expect(all).toEqual(expect.arrayContaining([['hub_cash', 'HUB-BKK', '980.00'], ['shortage', 'driver-7', '20.00']]))
    expect(all.filter(([account, holder]) => account === 'driver_cash' && holder === 'driver-7')).toEqual([])

    const exceptions = (await server.api<{ items: Array<{ id: string, kind: string, deviceId: string | null, detail: Record<string, unknown> }> }>('GET', '/api/exceptions')).body.items
    expect(exceptions.filter((e) => e.kind === 'cash_discrepancy')).toEqual([expect.objectContaining({
      id: first.body.exceptionIds[0],
      deviceId: 'driver-7',
      detail: expect.objectContaining({ handover: 'shift-7-1', stationId: 'HUB-BKK', currency: 'THB', expected: '1000.00', declared: '1000.00', counted: '980.00', difference: '-20.00', differenceMinor: '-2000' })
    })])
  })

  it('books a retried handover once, by its id or its Idempotency-Key, and refuses the id with other amounts', async () => {
    const handover = { id: 'shift-7-1', driver: 'driver-7', stationId: 'HUB-BKK', declaredByDriver: [thb('1000')], countedByCashier: [thb('980.00')] }
    const again = await post<Handover>('/api/cash/handovers', handover)
    expect(again.status).toBe(200)
    expect(again.body.lines[0]?.expected.amount).toBe('1000.00')
    const { id, ...withoutId } = handover
    expect((await post<Handover>('/api/cash/handovers', withoutId, { 'idempotency-key': id })).status).toBe(200)
    expect((await post('/api/cash/handovers', { ...handover, countedByCashier: [thb('1000')] })).status).toBe(409)
    expect((await post('/api/cash/handovers', withoutId)).status).toBe(422)

    const { rows } = await server.db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM ledger_entries WHERE cause = 'handover'")
    expect(rows[0]?.n).toBe(1)
    expect(await holderBalance('hub_cash', 'HUB-BKK')).toBe('980.00')
    expect(await holderBalance('shortage', 'driver-7')).toBe('20.00')
    const { rows: opened } = await server.db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM exceptions WHERE kind = 'cash_discrepancy'")
    expect(opened[0]?.n).toBe(1)

    const listed = (await server.api<{ items: Handover[] }>('GET', '/api/cash/handovers?driver=driver-7')).body.items
    expect(listed.map((h) => [h.id, h.discrepancy, h.lines[0]?.difference.amount])).toEqual([['shift-7-1', true, '-20.00']])
    expect((await server.api<{ items: Handover[] }>('GET', '/api/cash/handovers?station=NOWHERE')).body.items).toEqual([])
  })

  it('refuses amounts with more decimals than the currency has, unknown currencies, drivers and hubs', async () => {
    const base = { driver: 'driver-7', stationId: 'HUB-BKK', declaredByDriver: [] }
    expect((await post('/api/cash/handovers', { ...base, id: 'x1', countedByCashier: [thb('980.001')] })).status).toBe(422)
    expect((await post('/api/cash/handovers', { ...base, id: 'x2', countedByCashier: [{ currency: 'JPY', amount: '10.5' }] })).status).toBe(422)
    expect((await post('/api/cash/handovers', { ...base, id: 'x3', countedByCashier: [{ currency: 'XXY', amount: '1' }] })).status).toBe(422)
    expect((await post('/api/cash/handovers', { ...base, id: 'x4', driver: 'nobody', countedByCashier: [] })).status).toBe(422)
    expect((await post('/api/cash/handovers', { ...base, id: 'x5', stationId: 'NOWHERE', countedByCashier: [] })).status).toBe(422)
    const { rows } = await server.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM cash_handovers')
    expect(rows[0]?.n).toBe(1)
  })

  it('deposits a hub\'s cash in the bank once, and refuses a deposit larger than the hub holds', async () => {
    const deposit = { stationId: 'HUB-BKK', reference: 'KBANK-0001', amounts: [thb('900')] }
    const first = await post<{ id: string, amounts: Money[] }>('/api/cash/deposits', deposit)
    expect(first.status, JSON.stringify(first.body)).toBe(201)
    expect(first.body).toMatchObject({ id: 'HUB-BKK:KBANK-0001', amounts: [{ currency: 'THB', minor: '90000', amount: '900.00' }] })
    expect((await post('/api/cash/deposits', deposit)).status).toBe(200)
    expect(await holderBalance('hub_cash', 'HUB-BKK')).toBe('80.00')
    expect(await holderBalance('bank', '')).toBe('900.00')

    const tooMuch = await post<{ message: string }>('/api/cash/deposits', { stationId: 'HUB-BKK', reference: 'KBANK-0002', amounts: [thb('80.01')] })
    expect(tooMuch.status).toBe(422)
    expect(tooMuch.body.message).toMatch(/holds 80\.00 THB/)
    expect((await post('/api/cash/deposits', { ...deposit, id: 'another-id' })).status).toBe(409)
    expect((await post('/api/cash/deposits', { ...deposit, reference: 'KBANK-0003', amounts: [thb('0.001')] })).status).toBe(422)
    expect(await holderBalance('hub_cash', 'HUB-BKK')).toBe('80.00')
    const listed = (await server.api<{ items: Array<{ reference: string }> }>('GET', '/api/cash/deposits')).body.items
    expect(listed.map((d) => d.reference)).toEqual(['KBANK-0001'])
  })

  it('matches a partner\'s settlement file parcel by parcel: matched, short paid, missing, not ours, paid twice; importing it again books nothing', async () => {
    for (const [number, amount, partner] of [['FM-MATCH', 300, 'FastMile'], ['FM-SHORT', 450, 'FastMile'], ['FM-MISSING', 250, 'FastMile'], ['FM-TWICE', 200, 'FastMile'], ['SP-OTHER', 100, 'SlowPost']] as const) {
      await parcel(number, amount, { lastMilePartner: partner })
      // the partner's integration reports its deliveries through the API
      const delivered = await server.api('POST', `/api/parcels/${number}/milestones`, { code: 'delivered', time: new Date(now()).toISOString(), cod: { amount: String(amount), currency: 'THB' } })
      expect(delivered.status, JSON.stringify(delivered.body)).toBe(201)
    }
    expect(await holderBalance('partner_cash', 'FastMile')).toBe('1200.00')
    expect(await holderBalance('partner_cash', 'SlowPost')).toBe('100.00')

    expect((await importFile('FastMile', 'FM-REM-1', 'a,b\n')).status).toBe(409)
    const mapping = await server.api('PUT', '/api/cash/partners/FastMile/mapping', { trackingNumber: 'Tracking No', amount: 'COD', currency: 'Cur', date: 'Date', reference: 'Line', timezone: 'Asia/Bangkok' })
    expect(mapping.status, JSON.stringify(mapping.body)).toBe(200)
    expect((await server.api('PUT', '/api/cash/partners/FastMile/mapping', { trackingNumber: 'A', amount: 'B' })).status).toBe(422)
    expect((await server.api('GET', '/api/cash/partners/FastMile/mapping')).body).toMatchObject({ partner: 'FastMile', mapping: { trackingNumber: 'Tracking No', delimiter: ',', header: true } })

    const today = new Date(Date.now() + 7 * 3_600_000).toISOString().slice(0, 10)
    const csv = [
      'Line,Tracking No,COD,Cur,Date',
      `L1,FM-MATCH,300.00,THB,${today}`,
      `L2,FM-SHORT,430.00,THB,${today}`,
      `L3,"FM-TWICE",200,THB,${today}`,
      `L4,NOT-OURS-1,99.00,THB,${today}`,
      `L5,SP-OTHER,"100.00",THB,${today}`,
      `"L6, again",FM-TWICE,200,THB,${today}`,
      ''
    ].join('\r\n')
    const first = await importFile('FastMile', 'FM-REM-1', csv)
    expect(first.status, JSON.stringify(first.body)).toBe(201)
    expect(first.body.lines.map((l) => [l.trackingNumber, l.status, l.booked])).toEqual([
      ['FM-MATCH', 'matched', true],
      ['FM-SHORT', 'short_paid', true],
      ['FM-TWICE', 'matched', true],
      ['NOT-OURS-1', 'not_ours', false],
      ['SP-OTHER', 'not_ours', false],
      ['FM-TWICE', 'paid_twice', false]
    ])
    expect(first.body.lines[1]).toMatchObject({ line: 3, paid: { amount: '430.00' }, expected: { amount: '450.00' }, difference: { amount: '-20.00' }, partnerReference: 'L2' })
    expect(first.body.lines[5]?.partnerReference).toBe('L6, again')
    expect(first.body.missing.map((m) => [m.trackingNumber, m.expected?.amount])).toEqual([['FM-MISSING', '250.00']])
    expect(first.body.import.summary).toEqual({
      lines: 6,
      counts: { matched: 2, short_paid: 1, not_ours: 2, paid_twice: 1, missing: 1 },
      booked: [{ currency: 'THB', minor: '93000', amount: '930.00' }]
    })
    // what the partner still owes: 20 paid short and the 250 missing
    expect(await holderBalance('partner_cash', 'FastMile')).toBe('270.00')
    expect(await holderBalance('bank', '')).toBe('1830.00')

    const again = await importFile('FastMile', 'FM-REM-1', csv)
    expect(again.status).toBe(201)
    expect(again.body.lines.map((l) => [l.trackingNumber, l.status, l.booked])).toEqual([
      ['FM-MATCH', 'already_imported', false],
      ['FM-SHORT', 'already_imported', false],
      ['FM-TWICE', 'already_imported', false],
      ['NOT-OURS-1', 'not_ours', false],
      ['SP-OTHER', 'not_ours', false],
      ['FM-TWICE', 'paid_twice', false]
    ])
    expect(again.body.import.summary.booked).toEqual([])
    expect(again.body.missing.map((m) => m.trackingNumber)).toEqual(['FM-MISSING'])
    expect(await holderBalance('partner_cash', 'FastMile')).toBe('270.00')
    const { rows } = await server.db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM ledger_entries WHERE cause = 'partner_settlement'")
    expect(rows[0]?.n).toBe(3)

    // the next remittance pays the missing parcel, FM-MATCH again (paid twice, across files), and a USD parcel in THB
    await parcel('FM-USD', 10, { lastMilePartner: 'FastMile', cashOnDelivery: { amount: 10, currency: 'USD' } })
    expect((await server.api('POST', '/api/parcels/FM-USD/milestones', { code: 'delivered', time: new Date(now()).toISOString(), cod: { amount: '10', currency: 'USD' } })).status).toBe(201)
    const next = await importFile('FastMile', 'FM-REM-2', `Line,Tracking No,COD,Cur,Date\nM1,FM-MISSING,250,THB,${today}\nM2,FM-MATCH,300,THB,${today}\nM3,FM-USD,350,THB,${today}\n`)
    expect(next.body.lines.map((l) => [l.trackingNumber, l.status])).toEqual([['FM-MISSING', 'matched'], ['FM-MATCH', 'paid_twice'], ['FM-USD', 'wrong_currency']])
    expect(next.body.lines[2]).toMatchObject({ paid: { currency: 'THB', amount: '350.00' }, expected: null, problem: 'owed 10.00 USD, paid in THB', booked: false })
    // not paid by any file yet
    expect(next.body.missing.map((m) => [m.trackingNumber, m.expected?.amount, m.expected?.currency])).toEqual([['FM-USD', '10.00', 'USD']])
    expect(await holderBalance('partner_cash', 'FastMile')).toBe('20.00')

    const imports = (await server.api<{ items: Array<{ id: string, reference: string }> }>('GET', '/api/cash/partners/FastMile/settlements')).body.items
    expect(imports.map((i) => i.reference)).toEqual(['FM-REM-2', 'FM-REM-1', 'FM-REM-1'])
    const stored = await server.api<Report>('GET', `/api/cash/partners/FastMile/settlements/${first.body.import.id}`)
    expect(stored.body.lines.map((l) => l.status)).toEqual(first.body.lines.map((l) => l.status))
    expect(stored.body.missing.map((m) => m.trackingNumber)).toEqual(['FM-MISSING'])
    expect((await server.api('GET', '/api/cash/partners/SlowPost/settlements/999')).status).toBe(404)

    // a file that cannot be read is refused whole, and nothing is booked
    expect((await importFile('FastMile', 'FM-REM-3', 'Line,Tracking No,COD,Cur,Date\n"L1,FM-X,1,THB,2026-01-01\n')).status).toBe(422)
    expect((await importFile('FastMile', 'FM-REM-3', 'Nope,COD\nFM-X,1\n')).status).toBe(422)
    const json = await post('/api/cash/partners/FastMile/settlements?reference=FM-REM-3', { not: 'csv' })
    expect(json.status).toBe(422)
  })

  it('never lets two concurrent handovers of one driver, on two servers sharing a database, take the same cash', async () => {
    const second = await startTestServer({ db: server.db })
    try {
      await parcel('COD-8', 500)
      await driverEvents(second, 'driver-8', [{ type: 'delivered', parcel: 'COD-8', time: now(), cod: { amount: '500', currency: 'THB' } }])
      expect(await holderBalance('driver_cash', 'driver-8')).toBe('500.00')

      const attempts = Array.from({ length: 8 }, (_, i) => post<Handover>('/api/cash/handovers', {
        id: `shift-8-${i}`, driver: 'driver-8', stationId: 'HUB-BKK', declaredByDriver: [thb('500')], countedByCashier: [thb('500')]
      }, {}, i % 2 === 0 ? server : second))
      const answers = await Promise.all(attempts)
      for (const answer of answers) expect(answer.status, JSON.stringify(answer.body)).toBe(201)
      const expected = answers.map((a) => BigInt(a.body.lines.find((l) => l.currency === 'THB')?.expected.minor ?? '0'))
      expect(expected.reduce((sum, minor) => sum + minor, 0n)).toBe(50_000n)
      expect(expected.filter((minor) => minor === 50_000n)).toHaveLength(1)
      // one handover sent to both servers at once is recorded once
      const twin = { id: 'shift-8-twin', driver: 'driver-8', stationId: 'HUB-BKK', declaredByDriver: [thb('1')], countedByCashier: [thb('1')] }
      const twins = await Promise.all([post<Handover>('/api/cash/handovers', twin, {}, server), post<Handover>('/api/cash/handovers', twin, {}, second)])
      expect(twins.map((t) => t.status).sort()).toEqual([200, 201])

      expect(await holderBalance('driver_cash', 'driver-8', second)).toBeUndefined()
      expect(await holderBalance('hub_cash', 'HUB-BKK', second)).toBe(`${80 + 8 * 500 + 1}.00`)
      // the seven that found nothing to hand over counted 500 each (and the twin 1): an excess, below zero on the driver's shortage
      expect(await holderBalance('shortage', 'driver-8')).toBe('-3501.00')
      const { rows } = await server.db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM ledger_entries WHERE key LIKE 'handover:shift-8-%'")
      expect(rows[0]?.n).toBe(9)
    } finally {
      await second.close()
    }
  })

  it('shows a merchant none of the operator\'s handovers, deposits or partners\' files', async () => {
    const { key } = (await server.api<{ key: string }>('POST', '/api/keys', { name: 'acme erp', scopes: ['finance:read'], merchantId: 'acme' })).body
    for (const path of ['/api/cash/handovers', '/api/cash/deposits', '/api/cash/partners/FastMile/settlements']) {
      const response = await fetch(`${server.httpUrl}${path}`, { headers: { authorization: `Bearer ${key}` } })
      expect(response.status, path).toBe(200)
      expect(await response.json(), path).toEqual({ items: [] })
    }
    const mapping = await fetch(`${server.httpUrl}/api/cash/partners/FastMile/mapping`, { headers: { authorization: `Bearer ${key}` } })
    expect(mapping.status).toBe(404)
  })
})
