import { createHmac, timingSafeEqual } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../support/clients.js'
import { createTestDatabase } from '../support/database.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { relayDatabase } from '../support/tcp-proxy.js'

interface EventBody {
  id: string
  type: string
  occurredAt: string
  parcel?: { id: string, trackingNumber: string }
  station?: { id: string, name: string, city: string | null, country: string | null, timezone: string | null } | null
  lat?: number | null
  lon?: number | null
  source?: string
  note?: string | null
  webhook?: { id: string }
}

interface Received {
  headers: http.IncomingHttpHeaders
  /** The raw body, exactly as sent: what the signature covers. */
  raw: string
  event: EventBody
}

interface Receiver {
  url: string
  received: Received[]
  /** The status to answer request number `n` (0-based) with. */
  answer: (n: number) => number
  close: () => Promise<void>
}

interface Subscription { id: string, url: string, events: string[], description: string | null, enabled: boolean, createdAt: string, secret: string }
interface Delivery {
  id: string
  eventId: string
  eventType: string
  status: 'pending' | 'delivered' | 'failed'
  attempts: number
  lastStatusCode: number | null
  lastError: string | null
  nextAttemptAt: string | null
  deliveredAt: string | null
  createdAt: string
  payload: EventBody
}
interface ErrorBody { code: string, message: string }

/** A real HTTP receiver on a free port that records every request and answers as told. */
async function startReceiver (answer: (n: number) => number = () => 200): Promise<Receiver> {
  const receiver: Receiver = { url: '', received: [], answer, close: async () => {} }
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8')
      const n = receiver.received.length
      receiver.received.push({ headers: request.headers, raw, event: JSON.parse(raw) as EventBody })
      response.writeHead(receiver.answer(n), { 'content-type': 'text/plain' }).end(receiver.answer(n) < 300 ? 'ok' : 'not now')
    })
  })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/trackstream`
  receiver.close = async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
  }
  return receiver
}

/** What a receiver does: recompute the HMAC of "<timestamp>.<body>" and compare in constant time. */
function verifies (secret: string, received: Received): boolean {
  const timestamp = received.headers['x-trackstream-timestamp']
  const signature = received.headers['x-trackstream-signature']
  if (typeof timestamp !== 'string' || typeof signature !== 'string') return false
  const expected = `sha256=${createHmac('sha256', secret).update(`${timestamp}.${received.raw}`).digest('hex')}`
  return signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected))
}

const ofType = (receiver: Receiver, type: string): Received[] => receiver.received.filter((r) => r.event.type === type)
const ago = (ms: number): string => new Date(Date.now() - ms).toISOString()

async function subscribe (server: TestServer, body: Record<string, unknown>): Promise<Subscription> {
  const created = await server.api<Subscription>('POST', '/api/webhooks', body)
  expect(created.status).toBe(201)
  return created.body
}

async function createParcel (server: TestServer, trackingNumber: string): Promise<{ id: string }> {
  const created = await server.api<{ id: string }>('POST', '/api/parcels', { trackingNumber, destination: { city: 'Bangkok', country: 'TH' } })
  expect(created.status).toBe(201)
  return created.body
}

async function record (server: TestServer, parcelId: string, body: Record<string, unknown>): Promise<void> {
  const recorded = await server.api('POST', `/api/parcels/${parcelId}/milestones`, body)
  expect(recorded.status).toBe(201)
}

async function deliveries (server: TestServer, subscriptionId: string): Promise<Delivery[]> {
  const log = await server.api<{ items: Delivery[] }>('GET', `/api/webhooks/${subscriptionId}/deliveries`)
  expect(log.status).toBe(200)
  return log.body.items
}

async function outboxRows (server: TestServer, parcelId: string): Promise<Array<{ id: string, type: string }>> {
  const { rows } = await server.db.pool.query<{ id: string, type: string }>(
    'SELECT id, type FROM webhook_outbox WHERE parcel_id = $1 ORDER BY occurred_at', [parcelId])
  return rows
}

/** Short retries and polls, so a test sees several attempts in well under a second. */
const FAST = { WEBHOOK_POLL_MS: '50', WEBHOOK_RETRY_BASE_MS: '2', WEBHOOK_TIMEOUT_MS: '2000' }

describe('webhooks', () => {
  let server: TestServer
  const receivers: Receiver[] = []
  const receiver = async (answer?: (n: number) => number): Promise<Receiver> => {
    const started = await startReceiver(answer)
    receivers.push(started)
    return started
  }

  beforeAll(async () => {
    server = await startTestServer({ env: FAST })
    const station = await server.api('POST', '/api/stations', {
      id: 'BKK-HUB', name: 'Bangkok hub', kind: 'hub', lat: 13.69, lon: 100.75, city: 'Bangkok', country: 'TH', timezone: 'Asia/Bangkok'
    })
    expect(station.status).toBe(201)
  })
  afterAll(async () => {
    await server?.close()
    for (const r of receivers) await r.close()
  })

  it('delivers a subscribed milestone, signed with the subscription secret', async () => {
    const hooks = await receiver()
    const secret = 'merchant-chosen-secret-0123456789'
    const subscription = await subscribe(server, { url: hooks.url, events: ['arrived_at_facility'], description: 'ERP', secret })
    expect(subscription).toMatchObject({ url: hooks.url, events: ['arrived_at_facility'], description: 'ERP', enabled: true, secret })
    const parcel = await createParcel(server, 'WH-SIGNED-1')
    const time = ago(60_000)
    await record(server, parcel.id, { code: 'arrived_at_facility', time, stationId: 'BKK-HUB', note: 'dock 4' })

    const [received] = await eventually(async () => {
      expect(hooks.received).toHaveLength(1)
      return hooks.received
    })
    if (received === undefined) throw new Error('unreachable')
    const event = (await outboxRows(server, parcel.id)).find((row) => row.type === 'arrived_at_facility')
    expect(received.event).toEqual({
      id: event?.id,
      type: 'arrived_at_facility',
      tag: 'InTransit',
      subtag: 'InTransit_003',
      occurredAt: time,
      parcel: { id: parcel.id, trackingNumber: 'WH-SIGNED-1' },
      station: { id: 'BKK-HUB', name: 'Bangkok hub', city: 'Bangkok', country: 'TH', timezone: 'Asia/Bangkok' },
      lat: 13.69,
      lon: 100.75,
      source: 'api',
      note: 'dock 4',
      vehicleId: null,
      detail: null
    })
    expect(received.headers['content-type']).toBe('application/json')
    expect(received.headers['x-trackstream-event-id']).toBe(event?.id)
    expect(received.headers['x-trackstream-event-type']).toBe('arrived_at_facility')
    expect(Math.abs(Number(received.headers['x-trackstream-timestamp']) - Date.now() / 1000)).toBeLessThan(60)
    expect(received.headers['x-trackstream-signature']).toMatch(/^sha256=[0-9a-f]{64}$/)
    expect(verifies(secret, received)).toBe(true)
    expect(verifies('another-secret-0123456789', received)).toBe(false)
    expect(verifies(secret, { ...received, raw: received.raw.replace('dock 4', 'dock 5') })).toBe(false)

    const log = await eventually(async () => {
      const items = await deliveries(server, subscription.id)
      expect(items.map((d) => d.status)).toEqual(['delivered'])
      return items
    })
    expect(log[0]).toMatchObject({ eventId: event?.id, eventType: 'arrived_at_facility', attempts: 1, lastStatusCode: 200, lastError: null, nextAttemptAt: null })
  })

  it('generates a 32-byte secret, shows it once, and lists subscriptions without it', async () => {
    const hooks = await receiver()
    const subscription = await subscribe(server, { url: hooks.url })
    expect(subscription.events).toEqual(['*'])
    expect(Buffer.from(subscription.secret, 'base64url')).toHaveLength(32)
    const list = await server.api<{ items: Array<Record<string, unknown>> }>('GET', '/api/webhooks')
    const listed = list.body.items.find((item) => item.id === subscription.id)
    expect(listed).toEqual({ id: subscription.id, url: hooks.url, merchantId: null, events: ['*'], description: null, enabled: true, createdAt: subscription.createdAt })
    expect(JSON.stringify(list.body)).not.toContain(subscription.secret)
    expect(list.body.items.every((item) => !('secret' in item))).toBe(true)

    // a ping reaches it, signed like any event
    const ping = await server.api<{ eventId: string, deliveryId: string }>('POST', `/api/webhooks/${subscription.id}/test`)
    expect(ping.status).toBe(202)
    const [pinged] = await eventually(async () => {
      expect(ofType(hooks, 'ping')).toHaveLength(1)
      return ofType(hooks, 'ping')
    })
    expect(pinged?.event).toMatchObject({ id: ping.body.eventId, type: 'ping', webhook: { id: subscription.id } })
    expect(pinged !== undefined && verifies(subscription.secret, pinged)).toBe(true)

    expect((await server.api('DELETE', `/api/webhooks/${subscription.id}`)).status).toBe(204)
    expect((await server.api<ErrorBody>('DELETE', `/api/webhooks/${subscription.id}`)).body.code).toBe('TS_NOT_FOUND')
    expect((await server.api<{ items: Subscription[] }>('GET', '/api/webhooks')).body.items.map((s) => s.id)).not.toContain(subscription.id)
  })

  it('sends only the milestone types a subscription asked for', async () => {
    const deliveredOnly = await receiver()
    const everything = await receiver()
    const onlyDelivered = await subscribe(server, { url: deliveredOnly.url, events: ['delivered'] })
    await subscribe(server, { url: everything.url, events: ['*'] })
    const parcel = await createParcel(server, 'WH-TYPES-1')
    await record(server, parcel.id, { code: 'out_for_delivery', time: ago(120_000) })
    await record(server, parcel.id, { code: 'delivered', time: ago(60_000) })

    await eventually(async () => {
      expect(everything.received.filter((r) => r.event.parcel?.id === parcel.id).map((r) => r.event.type).sort()).toEqual(['delivered', 'info_received', 'out_for_delivery'])
      expect(deliveredOnly.received).toHaveLength(1)
    })
    expect(deliveredOnly.received[0]?.event).toMatchObject({ type: 'delivered', parcel: { trackingNumber: 'WH-TYPES-1' } })
    expect((await deliveries(server, onlyDelivered.id)).map((d) => d.eventType)).toEqual(['delivered'])
  })

  it('retries a receiver that answers 500 twice, and the delivery log shows the three attempts', async () => {
    const flaky = await receiver((n) => n < 2 ? 500 : 200)
    const subscription = await subscribe(server, { url: flaky.url, events: ['picked_up'] })
    const parcel = await createParcel(server, 'WH-RETRY-1')
    await record(server, parcel.id, { code: 'picked_up', time: ago(60_000) })

    const [delivery] = await eventually(async () => {
      const items = await deliveries(server, subscription.id)
      expect(items.map((d) => d.status)).toEqual(['delivered'])
      return items
    })
    expect(delivery).toMatchObject({ eventType: 'picked_up', status: 'delivered', attempts: 3, lastStatusCode: 200, lastError: null })
    expect(delivery?.deliveredAt).not.toBeNull()
    expect(flaky.received).toHaveLength(3)
    // the same event every time, each attempt signed afresh
    expect(new Set(flaky.received.map((r) => r.headers['x-trackstream-event-id']))).toEqual(new Set([delivery?.eventId]))
    expect(flaky.received.every((r) => verifies(subscription.secret, r))).toBe(true)
  })

  it('gives up after ten attempts, and a failed delivery can be queued again', async () => {
    let answer = 503
    const down = await receiver(() => answer)
    const subscription = await subscribe(server, { url: down.url, events: ['sorted'] })
    const parcel = await createParcel(server, 'WH-FAILED-1')
    await record(server, parcel.id, { code: 'sorted', time: ago(60_000) })

    const [failed] = await eventually(async () => {
      const items = await deliveries(server, subscription.id)
      expect(items.map((d) => d.status)).toEqual(['failed'])
      return items
    }, 15_000)
    expect(failed).toMatchObject({ attempts: 10, lastStatusCode: 503, lastError: 'HTTP 503', nextAttemptAt: null, deliveredAt: null })
    expect(down.received).toHaveLength(10)

    answer = 200
    const retried = await server.api('POST', `/api/webhooks/deliveries/${failed?.id ?? ''}/retry`)
    expect(retried).toEqual({ status: 202, body: { id: failed?.id, status: 'pending' } })
    await eventually(async () => {
      expect((await deliveries(server, subscription.id))[0]).toMatchObject({ status: 'delivered', attempts: 11, lastStatusCode: 200 })
    })
    expect(down.received).toHaveLength(11)
    const again = await server.api<ErrorBody>('POST', `/api/webhooks/deliveries/${failed?.id ?? ''}/retry`)
    expect([again.status, again.body.code]).toEqual([409, 'TS_WRONG_STATE'])
    const unknown = await server.api<ErrorBody>('POST', '/api/webhooks/deliveries/00000000-0000-4000-8000-000000000000/retry')
    expect([unknown.status, unknown.body.code]).toEqual([404, 'TS_NOT_FOUND'])
  })

  it('makes one event of a milestone recorded twice', async () => {
    const hooks = await receiver()
    await subscribe(server, { url: hooks.url, events: ['*'] })
    const parcel = await createParcel(server, 'WH-DUP-1')
    const time = ago(60_000)
    await record(server, parcel.id, { code: 'picked_up', time })
    await record(server, parcel.id, { code: 'picked_up', time })
    // the outbox row is written in the milestone's transaction: it is there when the call returns
    // by when they happened: both are back-dated before the parcel was registered
    expect((await outboxRows(server, parcel.id)).map((row) => row.type)).toEqual(['picked_up', 'info_received'])

    // a later milestone arriving proves the dispatcher has been through the earlier ones
    await record(server, parcel.id, { code: 'arrived_at_facility', time: ago(30_000) })
    await eventually(async () => {
      expect(ofType(hooks, 'arrived_at_facility')).toHaveLength(1)
      expect(hooks.received.map((r) => r.event.type).sort()).toEqual(['arrived_at_facility', 'info_received', 'picked_up'])
    })
    expect((await outboxRows(server, parcel.id)).map((row) => row.type)).toEqual(['picked_up', 'arrived_at_facility', 'info_received'])
  })

  it('refuses a URL that is not http(s), and unknown types', async () => {
    for (const url of ['ftp://example.com/hook', 'javascript:alert(1)', 'not a url', 'file:///etc/passwd']) {
      const refused = await server.api<ErrorBody>('POST', '/api/webhooks', { url })
      expect([url, refused.status, refused.body.code]).toEqual([url, 422, 'TS_BAD_SHAPE'])
    }
    expect((await server.api('POST', '/api/webhooks', { url: 'https://erp.example.com/hook', events: ['teleported'] })).status).toBe(400)
    expect((await server.api('POST', '/api/webhooks', { url: 'https://erp.example.com/hook', events: [] })).status).toBe(400)
  })

  it('refuses every webhook route without the API key', async () => {
    const id = '00000000-0000-4000-8000-000000000000'
    const routes: Array<[string, string, string | undefined]> = [
      ['POST', '/api/webhooks', JSON.stringify({ url: 'https://erp.example.com/hook' })],
      ['GET', '/api/webhooks', undefined],
      ['DELETE', `/api/webhooks/${id}`, undefined],
      ['GET', `/api/webhooks/${id}/deliveries`, undefined],
      ['POST', `/api/webhooks/${id}/test`, '{}'],
      ['POST', `/api/webhooks/deliveries/${id}/retry`, '{}']
    ]
    for (const [method, path, body] of routes) {
      const response = await fetch(`${server.httpUrl}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body
      })
      const answer = await response.json() as ErrorBody
      expect([method, path, response.status, answer.code]).toEqual([method, path, 401, 'TS_UNAUTHORIZED'])
    }
    const list = await fetch(`${server.httpUrl}/api/webhooks`, { headers: { authorization: 'Bearer wrong-key-0123456789' } })
    expect(list.status).toBe(401)
  })
})

describe('webhooks across a restart and a database outage', () => {
  it('delivers an event recorded before the server was closed, once the server is back on the same database', async () => {
    const db = await createTestDatabase()
    let answer = 503
    const hooks = await startReceiver(() => answer)
    let server: TestServer | undefined
    try {
      // a refused first attempt is retried a second later: after the restart, not before it
      server = await startTestServer({ db, env: { ...FAST, WEBHOOK_RETRY_BASE_MS: '1000' } })
      const subscription = await subscribe(server, { url: hooks.url, events: ['delivered'] })
      const parcel = await createParcel(server, 'WH-RESTART-1')
      const time = ago(60_000)
      await record(server, parcel.id, { code: 'delivered', time })
      // committed with the milestone, before any delivery was tried
      const event = (await outboxRows(server, parcel.id)).find((row) => row.type === 'delivered')
      expect(event?.type).toBe('delivered')
      await server.close()
      server = undefined
      // whatever the first server managed to try was refused
      expect(hooks.received.every((r) => r.event.id === event?.id)).toBe(true)
      const triedBefore = hooks.received.length

      answer = 200
      server = await startTestServer({ db, env: FAST })
      await eventually(async () => {
        expect((await deliveries(server!, subscription.id)).map((d) => d.status)).toEqual(['delivered'])
      }, 10_000)
      expect(hooks.received.length).toBeGreaterThan(triedBefore)
      expect(hooks.received.at(-1)?.event).toMatchObject({ id: event?.id, type: 'delivered', occurredAt: time })
      expect(verifies(subscription.secret, hooks.received.at(-1)!)).toBe(true)

      // the same milestone again, to a server that has only the database to remember it by
      await record(server, parcel.id, { code: 'delivered', time })
      expect((await outboxRows(server, parcel.id)).filter((row) => row.type === 'delivered')).toEqual([event])
    } finally {
      await server?.close()
      await hooks.close()
      await db.drop()
    }
  })

  it('keeps running while the database is away and delivers once it is back', async () => {
    const db = await createTestDatabase()
    const { proxy, url: viaProxy } = await relayDatabase(db.url)
    let answer = 503
    const hooks = await startReceiver(() => answer)
    let server: TestServer | undefined
    try {
      // retries 1.6 to 2.4 s apart: the second attempt falls due while the database is away
      server = await startTestServer({ db, env: { ...FAST, DATABASE_URL: viaProxy, WEBHOOK_RETRY_BASE_MS: '2000' } })
      const subscription = await subscribe(server, { url: hooks.url, events: ['out_for_delivery'] })
      const parcel = await createParcel(server, 'WH-OUTAGE-1')
      await record(server, parcel.id, { code: 'out_for_delivery', time: ago(60_000) })
      await eventually(async () => {
        expect((await deliveries(server!, subscription.id))[0]).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: 503 })
      })

      await proxy.cut()
      answer = 200
      await new Promise((resolve) => setTimeout(resolve, 3000))
      expect(hooks.received).toHaveLength(1)
      await proxy.restore()

      await eventually(async () => {
        expect((await deliveries(server!, subscription.id))[0]).toMatchObject({ status: 'delivered', attempts: 2, lastStatusCode: 200 })
      }, 10_000)
      expect(hooks.received).toHaveLength(2)
    } finally {
      await server?.close()
      await proxy.stop()
      await hooks.close()
      await db.drop()
    }
  })
})

describe('a receiver that never answers', () => {
  it('delays only its own subscription: a healthy receiver beside it gets every event at once', async () => {
    const server = await startTestServer({ env: { WEBHOOK_POLL_MS: '50', WEBHOOK_TIMEOUT_MS: '10000', WEBHOOK_CONCURRENCY: '2' } })
    // accepts connections, reads requests, and never says a word back
    const hanging = http.createServer(() => {})
    await new Promise<void>((resolve) => { hanging.listen(0, '127.0.0.1', resolve) })
    const healthy = await startReceiver()
    try {
      const stuck = await subscribe(server, { url: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/hook` })
      await subscribe(server, { url: healthy.url })
      const started = Date.now()
      for (let i = 0; i < 200; i++) await createParcel(server, `HANG-${i}`)
      // 200 events, while the hanging receiver holds its two slots for 10 s at a time
      await eventually(async () => { expect(ofType(healthy, 'info_received')).toHaveLength(200) }, 15_000)
      expect(Date.now() - started).toBeLessThan(9000)
      // the stuck subscription has two attempts in flight, not more, and the rest wait their turn
      const { rows } = await server.db.pool.query<{ leased: number, waiting: number }>(
        `SELECT count(*) FILTER (WHERE leased_until > now())::int AS leased, count(*) FILTER (WHERE attempts = 0)::int AS waiting
           FROM webhook_deliveries WHERE subscription_id = $1`, [stuck.id])
      expect(rows[0]?.leased).toBe(2)
      expect(rows[0]?.waiting).toBe(198)
    } finally {
      hanging.closeAllConnections()
      await new Promise<void>((resolve) => { hanging.close(() => { resolve() }) })
      await healthy.close()
      await server.close()
    }
  }, 30_000)
})
