import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceTopic } from '../../proto/topics.js'
import { connectDevice, eventually, publish } from '../support/clients.js'
import { startTestServer, type TestServer } from '../support/server.js'

interface Money { currency: string, minor: string, amount: string }
interface Entry { key: string, cause: string, lines: Array<{ account: string, holder: string, money: Money }> }
interface Balance { account: string, holder: string, balance: Money }

describe('the cash at the door goes into the ledger with the delivery that took it', () => {
  let server: TestServer
  let driver: MqttClient
  const now = (): number => Date.now() - 60_000

  const ledger = async (parcel: string): Promise<Entry[]> => (await server.api<{ items: Entry[] }>('GET', `/api/parcels/${parcel}/ledger`)).body.items
  const balances = async (): Promise<Balance[]> => (await server.api<{ items: Balance[] }>('GET', '/api/cash/balances')).body.items

  beforeAll(async () => {
    server = await startTestServer()
    expect((await server.api('POST', '/api/merchants', { id: 'acme', name: 'Acme' })).status).toBe(201)
    for (const [trackingNumber, amount] of [['COD-1', 450], ['COD-2', 300], ['COD-3', 1200.5]] as const) {
      const created = await server.api('POST', '/api/parcels', { trackingNumber, merchantId: 'acme', destination: { city: 'Bangkok', country: 'TH' }, cashOnDelivery: { amount, currency: 'THB' } })
      expect(created.status).toBe(201)
    }
    const { secret } = await server.registerDevice('driver-7')
    driver = await connectDevice(server.mqttUrl, 'driver-7', secret)
  })
  afterAll(async () => {
    await driver?.endAsync()
    await server?.close()
  })

  it('books a cash delivery over MQTT once, however often the app resends it', async () => {
    const delivered = { type: 'delivered', parcel: 'COD-1', time: now(), cod: { amount: '450.00', currency: 'THB' } }
    await publish(driver, deviceTopic('driver-7', 'driver'), JSON.stringify(delivered))
    await publish(driver, deviceTopic('driver-7', 'driver'), JSON.stringify(delivered))
    const entries = await eventually(async () => {
      const found = await ledger('COD-1')
      expect(found).toHaveLength(2)
      return found
    })
    expect(entries.map((e) => e.cause)).toEqual(['delivery', 'collection'])
    expect(entries[1]?.lines).toEqual([
      { account: 'driver_cash', holder: 'driver-7', money: { currency: 'THB', minor: '45000', amount: '450.00' } },
      { account: 'cod_due', holder: '', money: { currency: 'THB', minor: '-45000', amount: '-450.00' } }
    ])
    expect(await balances()).toEqual(expect.arrayContaining([
      { account: 'driver_cash', holder: 'driver-7', balance: { currency: 'THB', minor: '45000', amount: '450.00' }, since: expect.any(String) },
      { account: 'merchant_payable', holder: 'acme', balance: { currency: 'THB', minor: '-45000', amount: '-450.00' }, since: expect.any(String) }
    ]))
  })

  it('lists a short payment at the door as a discrepancy, with what the buyer still owes', async () => {
    await publish(driver, deviceTopic('driver-7', 'driver'), JSON.stringify({ type: 'delivered', parcel: 'COD-2', time: now(), cod: { amount: '280', currency: 'THB' } }))
    const { body } = await eventually(async () => {
      const answer = await server.api<{ items: Array<{ trackingNumber: string, owing: Money }> }>('GET', '/api/cash/discrepancies')
      expect(answer.body.items).toHaveLength(1)
      return answer
    })
    expect(body.items[0]).toMatchObject({ trackingNumber: 'COD-2', owing: { currency: 'THB', minor: '2000', amount: '20.00' } })
  })

  it('sends a QR wallet payment to the payment provider, never into the driver\'s pocket', async () => {
    await publish(driver, deviceTopic('driver-7', 'driver'), JSON.stringify({ type: 'delivered', parcel: 'COD-3', time: now(), cod: { amount: '1200.50', currency: 'THB', method: 'qr' } }))
    await eventually(async () => {
      expect(await balances()).toEqual(expect.arrayContaining([
        { account: 'provider', holder: 'qr', balance: { currency: 'THB', minor: '120050', amount: '1200.50' }, since: expect.any(String) },
        { account: 'driver_cash', holder: 'driver-7', balance: { currency: 'THB', minor: '73000', amount: '730.00' }, since: expect.any(String) }
      ]))
    })
  })

  it('reverses what a returned parcel\'s buyer still owed, so the merchant is no longer owed it', async () => {
    const created = await server.api<{ id: string }>('POST', '/api/parcels', { trackingNumber: 'RTO-1', merchantId: 'acme', destination: { city: 'Bangkok', country: 'TH' }, cashOnDelivery: { amount: 300, currency: 'THB' } })
    expect(created.status).toBe(201)
    // marked delivered with no cash (the buyer will pay later), then refused and sent back
    expect((await server.api('POST', '/api/parcels/RTO-1/milestones', { code: 'delivered', time: new Date(now()).toISOString() })).status).toBe(201)
    expect((await server.api('POST', '/api/parcels/RTO-1/milestones', { code: 'returned_to_sender', time: new Date(now() + 1000).toISOString() })).status).toBe(201)
    const entries = await ledger('RTO-1')
    expect(entries.map((e) => e.cause)).toEqual(['delivery', 'return'])
    expect(entries[1]?.lines).toEqual([
      { account: 'merchant_payable', holder: 'acme', money: { currency: 'THB', minor: '30000', amount: '300.00' } },
      { account: 'cod_due', holder: '', money: { currency: 'THB', minor: '-30000', amount: '-300.00' } }
    ])
  })

  it('keeps every ledger row as it was written: no update, no delete', async () => {
    await expect(server.db.pool.query('UPDATE ledger_lines SET amount = amount + 1')).rejects.toThrow(/append-only/)
    await expect(server.db.pool.query('DELETE FROM ledger_entries')).rejects.toThrow(/append-only/)
    // and an entry that does not balance never commits, whoever writes it
    await expect(server.db.pool.query(`WITH e AS (INSERT INTO ledger_entries (key, at, cause) VALUES ('bad', now(), 'correction') RETURNING id)
      INSERT INTO ledger_lines (entry_id, account, currency, amount) SELECT id, 'bank', 'THB', 100 FROM e`)).rejects.toThrow(/does not balance/)
    // nor can lines that balance among themselves be added to an entry written before
    await expect(server.db.pool.query(`INSERT INTO ledger_lines (entry_id, account, currency, amount)
      SELECT id, a, 'THB', v FROM (SELECT min(id) AS id FROM ledger_entries) e, (VALUES ('bank', 100), ('fees', -100)) AS l(a, v)`)).rejects.toThrow(/earlier transaction/)
  })

  it('keeps how each merchant is paid: currency, time zone, cycle and fees, checked', async () => {
    const set = await server.api('PUT', '/api/merchants/acme/settlement', {
      currency: 'THB', timezone: 'Asia/Bangkok', cycle: { kind: 'days_after_delivery', days: 2 }, fees: { codFeeBasisPoints: 200, codFeeMinimum: 1500 }
    })
    expect(set).toEqual({ status: 200, body: { merchantId: 'acme', currency: 'THB', timezone: 'Asia/Bangkok', cycle: { kind: 'days_after_delivery', days: 2 }, fees: { codFeeBasisPoints: 200, codFeeMinimum: 1500, fixedPerParcel: 0, returnCharge: 0, shipping: 'invoiced' } } })
    expect((await server.api('PUT', '/api/merchants/acme/settlement', { currency: 'XYZ' })).status).toBe(422)
    expect((await server.api('PUT', '/api/merchants/acme/settlement', { timezone: 'Mars/Olympus' })).status).toBe(422)
    expect((await server.api('PUT', '/api/merchants/acme/settlement', { cycle: { kind: 'weekly', weekdays: [] } })).status).toBe(400)
    expect((await server.api('PUT', '/api/merchants/nobody/settlement', { currency: 'THB' })).status).toBe(404)
    expect((await server.api('GET', '/api/merchants/acme/settlement')).body).toMatchObject({ currency: 'THB', cycle: { kind: 'days_after_delivery', days: 2 } })
  })

  it('lets a merchant see its own payable and none of the fleet\'s cash', async () => {
    const { body } = await server.api<{ key: string }>('POST', '/api/keys', { name: 'acme finance', merchantId: 'acme', scopes: ['finance:read'] })
    const answer = await server.app.inject({ url: '/api/cash/balances', headers: { authorization: `Bearer ${body.key}` } })
    expect(answer.json<{ items: Balance[] }>().items.map((b) => [b.account, b.holder])).toEqual([['merchant_payable', 'acme']])
  })
})
