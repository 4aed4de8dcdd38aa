import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { eventually, FrameCollector } from '../support/clients.js'
import { startTestServer, type TestServer } from '../support/server.js'

interface Parcel { id: string, trackingNumber: string, trackingUrl: string }
interface Rotated { id: string, trackingNumber: string, trackingUrl: string, expiresAt: string | null }
interface Frame { type: string }

const LINK_DAYS = 30
const PER_MINUTE = 100
// TRUST_PROXY=loopback: the test's own requests may say, in X-Forwarded-For, which client they are
const ENV = { TRACKING_LINK_DAYS: String(LINK_DAYS), TRACKING_RATE_PER_MINUTE: String(PER_MINUTE), TRUST_PROXY: 'loopback' }

const tokenOf = (trackingUrl: string): string => new URL(trackingUrl).pathname.split('/').pop() ?? ''
let clients = 0
/** A client address of its own, so one test's requests never count against another's. */
const newClient = (): string => `198.51.100.${++clients}`

async function track (server: TestServer, token: string, client = newClient()): Promise<{ status: number, body: { code?: string, trackingNumber?: string } }> {
  const response = await fetch(`${server.httpUrl}/api/track/${token}`, { headers: { 'x-forwarded-for': client } })
  return { status: response.status, body: await response.json() as { code?: string } }
}

/** How the tracking socket ended: its close code and reason, or the HTTP status that refused the upgrade. */
async function refusal (server: TestServer, token: string, client = newClient()): Promise<{ code: number, reason: string } | { status: number }> {
  const socket = new WebSocket(`${server.wsUrl}/ws/track/${token}`, { headers: { 'x-forwarded-for': client } })
  return await new Promise((resolve, reject) => {
    socket.once('close', (code, reason) => { resolve({ code, reason: reason.toString() }) })
    socket.once('unexpected-response', (request, response) => {
      resolve({ status: response.statusCode ?? 0 })
      response.resume()
      request.destroy()
    })
    socket.once('error', reject)
  })
}

async function closeOf (collector: FrameCollector<Frame>): Promise<{ code: number, reason: string }> {
  const { socket } = collector
  if (socket.readyState === WebSocket.CLOSED) throw new Error('already closed')
  return await new Promise((resolve) => { socket.once('close', (code, reason) => { resolve({ code, reason: reason.toString() }) }) })
}

async function register (server: TestServer, trackingNumber: string, extra: Record<string, unknown> = {}): Promise<Parcel> {
  const created = await server.api<Parcel>('POST', '/api/parcels', { trackingNumber, destination: { city: 'Bangkok', country: 'TH' }, ...extra })
  expect(created.status, JSON.stringify(created.body)).toBe(201)
  return created.body
}

describe('tracking links: rotated, revoked, expired, rate-limited', () => {
  let server: TestServer

  beforeAll(async () => {
    server = await startTestServer({ env: ENV })
  })
  afterAll(async () => {
    await server?.close()
  })

  it('stops the old link at once when the link is rotated, over HTTP and WebSocket, and the new one works', async () => {
    const parcel = await register(server, 'TL-ROT-1')
    const old = tokenOf(parcel.trackingUrl)
    // read twice, so that the old link is in memory when it is replaced
    expect((await track(server, old)).status).toBe(200)
    expect((await track(server, old)).status).toBe(200)
    const watching = await FrameCollector.open<Frame>(`${server.wsUrl}/ws/track/${old}`, { 'x-forwarded-for': newClient() })
    await watching.waitFor((frame) => frame.type === 'snapshot')
    const closed = closeOf(watching)

    const rotated = await server.api<Rotated>('POST', `/api/parcels/${parcel.trackingNumber}/tracking-link/rotate`)
    expect(rotated.status).toBe(200)
    expect(rotated.body).toMatchObject({ id: parcel.id, trackingNumber: 'TL-ROT-1', expiresAt: null })
    const fresh = tokenOf(rotated.body.trackingUrl)
    expect(fresh).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(fresh).not.toBe(old)

    expect(await track(server, old)).toMatchObject({ status: 410, body: { code: 'TS_LINK_REPLACED' } })
    expect(await closed).toEqual({ code: 4410, reason: 'TS_LINK_REPLACED' })
    expect(await refusal(server, old)).toEqual({ code: 4410, reason: 'TS_LINK_REPLACED' })
    expect(await track(server, fresh)).toMatchObject({ status: 200, body: { trackingNumber: 'TL-ROT-1' } })
    const buyer = await FrameCollector.open<Frame>(`${server.wsUrl}/ws/track/${fresh}`, { 'x-forwarded-for': newClient() })
    await buyer.waitFor((frame) => frame.type === 'snapshot')
    buyer.close()
    // the parcel itself now gives out the new link
    expect((await server.api<Parcel>('GET', `/api/parcels/${parcel.id}`)).body.trackingUrl).toBe(rotated.body.trackingUrl)

    // rotating again: the link before the last one is simply unknown
    const again = await server.api<Rotated>('POST', `/api/parcels/${parcel.id}/tracking-link/rotate`)
    expect(again.status).toBe(200)
    expect(await track(server, fresh)).toMatchObject({ status: 410, body: { code: 'TS_LINK_REPLACED' } })
    expect(await track(server, old)).toMatchObject({ status: 404, body: { code: 'TS_NOT_FOUND' } })
    expect(await refusal(server, old)).toEqual({ code: 4404, reason: 'unknown tracking link' })
    expect((await track(server, tokenOf(again.body.trackingUrl))).status).toBe(200)
  })

  it('answers 410 for a revoked link, closes its open pages, and a rotation gives the parcel a working one again', async () => {
    const parcel = await register(server, 'TL-REV-1')
    const token = tokenOf(parcel.trackingUrl)
    expect((await track(server, token)).status).toBe(200)
    const watching = await FrameCollector.open<Frame>(`${server.wsUrl}/ws/track/${token}`, { 'x-forwarded-for': newClient() })
    await watching.waitFor((frame) => frame.type === 'snapshot')
    const closed = closeOf(watching)

    const revoked = await server.api('DELETE', `/api/parcels/${parcel.id}/tracking-link`)
    expect(revoked.status).toBe(204)
    expect(await track(server, token)).toMatchObject({ status: 410, body: { code: 'TS_LINK_REVOKED', message: 'this tracking link was revoked by its sender' } })
    expect(await closed).toEqual({ code: 4410, reason: 'TS_LINK_REVOKED' })
    expect(await refusal(server, token)).toEqual({ code: 4410, reason: 'TS_LINK_REVOKED' })
    // no browser may keep the answer: the next one may differ
    const gone = await fetch(`${server.httpUrl}/api/track/${token}`, { headers: { 'x-forwarded-for': newClient() } })
    expect(gone.headers.get('cache-control')).toBe('no-store')
    await gone.arrayBuffer()
    // twice is once
    expect((await server.api('DELETE', `/api/parcels/${parcel.trackingNumber}/tracking-link`)).status).toBe(204)
    expect((await track(server, token)).status).toBe(410)

    const rotated = await server.api<Rotated>('POST', `/api/parcels/${parcel.id}/tracking-link/rotate`)
    expect(rotated.status).toBe(200)
    expect((await track(server, tokenOf(rotated.body.trackingUrl))).status).toBe(200)
    expect((await track(server, token)).status).toBe(410)
    // the audit log has both
    const { rows } = await server.db.pool.query<{ action: string }>("SELECT action FROM audit_log WHERE action LIKE '%tracking-link%' ORDER BY id")
    expect(rows.map((row) => row.action)).toEqual(expect.arrayContaining(['DELETE /api/parcels/:id/tracking-link', 'POST /api/parcels/:id/tracking-link/rotate']))
  })

  it(`answers 410 for a link whose journey ended more than TRACKING_LINK_DAYS (${LINK_DAYS}) ago, and serves one that ended recently`, async () => {
    const old = await register(server, 'TL-EXP-OLD')
    const recent = await register(server, 'TL-EXP-NEW')
    await server.db.pool.query("UPDATE parcels SET ended_at = now() - make_interval(days => $2) - interval '1 hour' WHERE tracking_number = $1", ['TL-EXP-OLD', LINK_DAYS])
    await server.db.pool.query("UPDATE parcels SET ended_at = now() - make_interval(days => $2) + interval '1 hour' WHERE tracking_number = $1", ['TL-EXP-NEW', LINK_DAYS])

    expect(await track(server, tokenOf(old.trackingUrl))).toMatchObject({ status: 410, body: { code: 'TS_LINK_EXPIRED', message: 'this tracking link has expired' } })
    expect(await track(server, tokenOf(old.trackingUrl))).toMatchObject({ status: 410, body: { code: 'TS_LINK_EXPIRED' } })
    expect(await refusal(server, tokenOf(old.trackingUrl))).toEqual({ code: 4410, reason: 'TS_LINK_EXPIRED' })
    expect(await track(server, tokenOf(recent.trackingUrl))).toMatchObject({ status: 200, body: { trackingNumber: 'TL-EXP-NEW' } })
    const buyer = await FrameCollector.open<Frame>(`${server.wsUrl}/ws/track/${tokenOf(recent.trackingUrl)}`, { 'x-forwarded-for': newClient() })
    await buyer.waitFor((frame) => frame.type === 'snapshot')
    buyer.close()

    // an expired link cannot be renewed; a recent one can, and says when it will stop
    const refused = await server.api<{ code: string }>('POST', `/api/parcels/${old.id}/tracking-link/rotate`)
    expect(refused).toMatchObject({ status: 409, body: { code: 'TS_WRONG_STATE' } })
    const renewed = await server.api<Rotated>('POST', `/api/parcels/${recent.id}/tracking-link/rotate`)
    expect(renewed.status).toBe(200)
    const { rows: [ended] } = await server.db.pool.query<{ ended_at: Date }>('SELECT ended_at FROM parcels WHERE id = $1', [recent.id])
    expect(renewed.body.expiresAt).toBe(new Date((ended?.ended_at.getTime() ?? 0) + LINK_DAYS * 86_400_000).toISOString())
  })

  it('answers one client address 429 beyond TRACKING_RATE_PER_MINUTE, while other addresses are served', async () => {
    const parcel = await register(server, 'TL-RATE-1')
    const token = tokenOf(parcel.trackingUrl)
    const guesser = newClient()
    const statuses: number[] = []
    let retryAfter: string | null = null
    // 1,000 guessed tokens from one address, 50 at a time
    for (let batch = 0; batch < 20; batch++) {
      const answers = await Promise.all(Array.from({ length: 50 }, async () => {
        const response = await fetch(`${server.httpUrl}/api/track/${randomBytes(16).toString('base64url')}`, { headers: { 'x-forwarded-for': guesser } })
        await response.arrayBuffer()
        if (response.status === 429) retryAfter = response.headers.get('retry-after')
        return response.status
      }))
      statuses.push(...answers)
    }
    expect(statuses.filter((status) => status === 404)).toHaveLength(PER_MINUTE)
    expect(statuses.filter((status) => status === 429)).toHaveLength(1000 - PER_MINUTE)
    expect(Number(retryAfter)).toBeGreaterThan(0)
    // the guesser stays refused, even with a real link
    expect((await track(server, token, guesser)).status).toBe(429)
    // everyone else is served: another address behind the proxy, and the proxy's own
    expect(await track(server, token, newClient())).toMatchObject({ status: 200, body: { trackingNumber: 'TL-RATE-1' } })
    const direct = await fetch(`${server.httpUrl}/api/track/${token}`)
    expect(direct.status).toBe(200)
    // and in-process, through Fastify's own address setting
    const injected = await server.app.inject({ url: `/api/track/${token}`, remoteAddress: '192.0.2.44' })
    expect(injected.statusCode).toBe(200)
  })

  it('limits the tracking socket per address too', async () => {
    const parcel = await register(server, 'TL-RATE-WS')
    const token = tokenOf(parcel.trackingUrl)
    const client = newClient()
    const outcomes: Array<{ code: number, reason: string } | { status: number }> = []
    for (let batch = 0; batch < 3; batch++) {
      outcomes.push(...await Promise.all(Array.from({ length: 50 }, async () => await refusal(server, `${randomBytes(16).toString('base64url')}`, client))))
    }
    expect(outcomes.filter((outcome) => 'code' in outcome && outcome.code === 4404)).toHaveLength(PER_MINUTE)
    expect(outcomes.filter((outcome) => 'status' in outcome && outcome.status === 429)).toHaveLength(150 - PER_MINUTE)
    const buyer = await FrameCollector.open<Frame>(`${server.wsUrl}/ws/track/${token}`, { 'x-forwarded-for': newClient() })
    await buyer.waitFor((frame) => frame.type === 'snapshot')
    buyer.close()
  })

  it('lets a merchant rotate and revoke only its own parcels\' links: another merchant\'s parcel is not found', async () => {
    for (const id of ['acme', 'globex']) expect((await server.api('POST', '/api/merchants', { id, name: id })).status).toBe(201)
    const keyOf = async (merchantId: string): Promise<string> => {
      const created = await server.api<{ key: string }>('POST', '/api/keys', { name: `${merchantId} erp`, merchantId, scopes: ['parcels:read', 'parcels:write'] })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      return created.body.key
    }
    const acme = await keyOf('acme')
    const globex = await keyOf('globex')
    const parcel = await register(server, 'TL-ACME-1', { merchantId: 'acme' })
    const token = tokenOf(parcel.trackingUrl)
    const as = async (key: string, method: string, path: string): Promise<{ status: number, body: { code?: string, trackingUrl?: string } }> => {
      const response = await fetch(`${server.httpUrl}${path}`, { method, headers: { authorization: `Bearer ${key}` } })
      const text = await response.text()
      return { status: response.status, body: text === '' ? {} : JSON.parse(text) as { code?: string } }
    }

    const missing = await as(globex, 'POST', '/api/parcels/TL-NOBODY/tracking-link/rotate')
    expect(missing).toMatchObject({ status: 404, body: { code: 'TS_NOT_FOUND' } })
    for (const key of [parcel.id, parcel.trackingNumber]) {
      const rotate = await as(globex, 'POST', `/api/parcels/${key}/tracking-link/rotate`)
      expect(rotate).toEqual({ status: 404, body: { ...missing.body, message: `parcel "${key}" does not exist` } })
      expect(await as(globex, 'DELETE', `/api/parcels/${key}/tracking-link`)).toMatchObject({ status: 404, body: { code: 'TS_NOT_FOUND' } })
    }
    // untouched
    expect((await track(server, token)).status).toBe(200)

    const own = await as(acme, 'POST', `/api/parcels/${parcel.trackingNumber}/tracking-link/rotate`)
    expect(own.status).toBe(200)
    expect((await track(server, token)).status).toBe(410)
    expect((await track(server, tokenOf(own.body.trackingUrl ?? ''))).status).toBe(200)
    expect((await as(acme, 'DELETE', `/api/parcels/${parcel.id}/tracking-link`)).status).toBe(204)
    expect((await track(server, tokenOf(own.body.trackingUrl ?? ''))).status).toBe(410)
  })
})

describe('tracking links across two instances on one database', () => {
  let first: TestServer
  let second: TestServer

  beforeAll(async () => {
    first = await startTestServer({ env: ENV })
    second = await startTestServer({ env: ENV, db: first.db })
  })
  afterAll(async () => {
    await second?.close()
    await first?.close()
  })

  it('stops the old link on the other instance within a second or two of a rotation, and a revocation likewise', async () => {
    const parcel = await register(first, 'TL-TWO-1')
    const old = tokenOf(parcel.trackingUrl)
    // the other instance has read it, and holds it in memory
    expect((await track(second, old)).status).toBe(200)
    expect((await track(second, old)).status).toBe(200)
    const watching = await FrameCollector.open<Frame>(`${second.wsUrl}/ws/track/${old}`, { 'x-forwarded-for': newClient() })
    await watching.waitFor((frame) => frame.type === 'snapshot')
    const closed = closeOf(watching)

    const rotated = await first.api<Rotated>('POST', `/api/parcels/${parcel.id}/tracking-link/rotate`)
    expect(rotated.status).toBe(200)
    await eventually(async () => { expect(await track(second, old)).toMatchObject({ status: 410, body: { code: 'TS_LINK_REPLACED' } }) }, 2000)
    expect(await closed).toEqual({ code: 4410, reason: 'TS_LINK_REPLACED' })
    const fresh = tokenOf(rotated.body.trackingUrl)
    expect((await track(second, fresh)).status).toBe(200)
    expect((await track(second, fresh)).status).toBe(200)

    // and the other way round, with the new link in the first instance's memory
    expect((await track(first, fresh)).status).toBe(200)
    expect((await track(first, fresh)).status).toBe(200)
    expect((await second.api('DELETE', `/api/parcels/${parcel.trackingNumber}/tracking-link`)).status).toBe(204)
    expect(await track(second, fresh)).toMatchObject({ status: 410, body: { code: 'TS_LINK_REVOKED' } })
    await eventually(async () => { expect(await track(first, fresh)).toMatchObject({ status: 410, body: { code: 'TS_LINK_REVOKED' } }) }, 2000)
  })

  it('serves no link it could have missed news of while its listening connection was cut, and listens again', async () => {
    const parcel = await register(first, 'TL-TWO-2')
    const old = tokenOf(parcel.trackingUrl)
    expect((await track(second, old)).status).toBe(200)
    expect((await track(second, old)).status).toBe(200)
    // both instances' LISTEN connections, as an outage or a failover would cut them; then a rotation nobody hears
    const cut = async (): Promise<number> => (await first.db.pool.query<{ n: number }>(
      "SELECT count(pg_terminate_backend(pid, 5000))::int AS n FROM pg_stat_activity WHERE query = 'LISTEN trackstream_tracking_links' AND datname = current_database()")).rows[0]?.n ?? 0
    expect(await cut()).toBe(2)
    const rotated = await first.api<Rotated>('POST', `/api/parcels/${parcel.id}/tracking-link/rotate`)
    expect(rotated.status).toBe(200)
    await eventually(async () => { expect(await track(second, old)).toMatchObject({ status: 410, body: { code: 'TS_LINK_REPLACED' } }) }, 2000)
    expect((await track(second, tokenOf(rotated.body.trackingUrl))).status).toBe(200)
    const listening = async (): Promise<number> => (await first.db.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'LISTEN trackstream_tracking_links' AND datname = current_database()")).rows[0]?.n ?? 0
    await eventually(async () => { expect(await listening()).toBe(2) }, 10_000)
  })
})
