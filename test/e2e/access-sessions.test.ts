import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../support/clients.js'
import { startTestServer, TEST_API_KEY, type TestServer } from '../support/server.js'

const PASSWORD = 'a long enough passphrase'
const admin = { authorization: `Bearer ${TEST_API_KEY}` }

interface Inject { method?: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, headers?: Record<string, string>, payload?: unknown, remoteAddress?: string }

describe('ops users, sessions and keys', () => {
  let server: TestServer
  let second: TestServer
  const call = async (server: TestServer, { method = 'GET', url, headers = {}, payload, remoteAddress = '127.0.0.1' }: Inject): Promise<LightMyRequestResponse> =>
    await server.app.inject({ method, url, headers, remoteAddress, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) })
  const ok = async <T>(request: Inject): Promise<T> => {
    const answer = await call(server, { headers: admin, ...request })
    expect(answer.statusCode, `${request.url}: ${answer.body}`).toBeLessThan(300)
    return answer.json<T>()
  }
  const login = async (email: string, password = PASSWORD, remoteAddress = '10.0.0.1'): Promise<LightMyRequestResponse> =>
    await call(server, { method: 'POST', url: '/api/session', payload: { email, password }, remoteAddress })
  const cookieOf = (answer: LightMyRequestResponse): Record<string, string> => {
    const cookie = answer.cookies.find((c) => c.name === 'ts_session')
    expect(cookie, answer.body).toBeDefined()
    return { cookie: `ts_session=${cookie?.value ?? ''}` }
  }
  const audit = async (action: string): Promise<Array<Record<string, unknown>>> =>
    (await ok<{ items: Array<Record<string, unknown>> }>({ url: `/api/audit?action=${encodeURIComponent(action)}` })).items

  beforeAll(async () => {
    server = await startTestServer()
    second = await startTestServer({ db: server.db })
    await ok({ method: 'POST', url: '/api/merchants', payload: { id: 'acme', name: 'Acme' } })
    for (const [email, role] of [['dispatch@ops.example', 'dispatcher'], ['finance@ops.example', 'finance'], ['victim@ops.example', 'viewer'], ['other@ops.example', 'viewer']]) {
      await ok({ method: 'POST', url: '/api/users', payload: { email, password: PASSWORD, role } })
    }
  })
  afterAll(async () => {
    await second?.close()
    await server?.close()
  })

  it('logs a user in with email and password; the cookie carries the role\'s rights, on every instance', async () => {
    const answer = await login('Dispatch@ops.example')
    expect(answer.statusCode).toBe(200)
    expect(answer.json()).toMatchObject({ loggedIn: true, actor: 'user:dispatch@ops.example', role: 'dispatcher', merchantId: null })
    const set = answer.headers['set-cookie'] as string
    expect(set).toMatch(/HttpOnly/)
    expect(set).toMatch(/SameSite=Strict/)
    const cookie = cookieOf(answer)
    expect((await call(server, { url: '/api/parcels', headers: cookie })).statusCode).toBe(200)
    expect((await call(second, { url: '/api/parcels', headers: cookie })).statusCode).toBe(200)
    expect((await call(server, { url: '/api/users', headers: cookie })).statusCode).toBe(403)
    const me = (await call(server, { url: '/api/session', headers: cookie })).json<{ permissions: string[] }>()
    expect(me.permissions).toContain('custody:write')
    expect(me.permissions).not.toContain('access:admin')
  })

  it('refuses an unknown email and a wrong password alike, and records both with the address', async () => {
    const unknown = await login('nobody@ops.example', PASSWORD, '10.0.0.2')
    const wrong = await login('finance@ops.example', 'not the password', '10.0.0.2')
    expect([unknown.statusCode, wrong.statusCode]).toEqual([401, 401])
    expect(unknown.json().message).toBe(wrong.json().message)
    const failed = (await audit('session.login')).filter((entry) => entry.outcome === 'failed' && entry.ip === '10.0.0.2')
    expect(failed.map((entry) => entry.target).sort()).toEqual(['finance@ops.example', 'nobody@ops.example'])
  })

  it('ends a session at logout, on every instance at once', async () => {
    const cookie = cookieOf(await login('finance@ops.example'))
    expect((await call(second, { url: '/api/kpis', headers: cookie })).statusCode).toBe(200)
    expect((await call(server, { method: 'DELETE', url: '/api/session', headers: cookie })).statusCode).toBe(204)
    expect((await call(server, { url: '/api/kpis', headers: cookie })).statusCode).toBe(401)
    expect((await call(second, { url: '/api/kpis', headers: cookie })).statusCode).toBe(401)
  })

  it('ends every session of a user who is disabled or whose role changes, and a disabled user cannot log in', async () => {
    await ok({ method: 'POST', url: '/api/users', payload: { email: 'leaver@ops.example', password: PASSWORD, role: 'dispatcher' } })
    const cookie = cookieOf(await login('leaver@ops.example'))
    const changed = await ok<{ sessionsEnded: number }>({ method: 'PATCH', url: '/api/users/leaver@ops.example', payload: { role: 'viewer' } })
    expect(changed.sessionsEnded).toBe(1)
    expect((await call(second, { url: '/api/parcels', headers: cookie })).statusCode).toBe(401)
    const again = cookieOf(await login('leaver@ops.example'))
    expect((await call(server, { method: 'POST', url: '/api/custody', headers: { ...again, origin: 'http://localhost:80' }, payload: {} })).statusCode).toBe(403)
    await ok({ method: 'PATCH', url: '/api/users/leaver@ops.example', payload: { disabled: true } })
    expect((await call(server, { url: '/api/parcels', headers: again })).statusCode).toBe(401)
    expect((await login('leaver@ops.example')).statusCode).toBe(401)
  })

  it('ends a session left unused for longer than the idle time', async () => {
    const cookie = cookieOf(await login('dispatch@ops.example'))
    await server.db.pool.query("UPDATE sessions SET last_seen_at = now() - interval '31 minutes' WHERE ended_at IS NULL")
    expect((await call(server, { url: '/api/parcels', headers: cookie })).statusCode).toBe(401)
  })

  it('takes a change carried by the cookie only from its own origin (CSRF)', async () => {
    const cookie = cookieOf(await login('dispatch@ops.example'))
    const parcel = { trackingNumber: 'CSRF-1', destination: { city: 'Bangkok', country: 'TH' } }
    const without = await call(server, { method: 'POST', url: '/api/parcels', headers: cookie, payload: parcel })
    const foreign = await call(server, { method: 'POST', url: '/api/parcels', headers: { ...cookie, origin: 'http://localhost:8081' }, payload: parcel })
    expect([without.statusCode, foreign.statusCode]).toEqual([403, 403])
    expect((await ok<{ items: unknown[] }>({ url: '/api/parcels?trackingNumber=CSRF-1' })).items).toEqual([])
    const own = await call(server, { method: 'POST', url: '/api/parcels', headers: { ...cookie, origin: 'http://localhost:80' }, payload: parcel })
    expect(own.statusCode, own.body).toBe(201)
  })

  it('refuses the 11th login in a minute from one address, but not another address\'s', async () => {
    const tries: number[] = []
    for (let i = 0; i < 11; i++) tries.push((await login('other@ops.example', `wrong ${i}`, '10.1.1.1')).statusCode)
    expect(tries.slice(0, 5)).toEqual([401, 401, 401, 401, 401])
    expect(tries[10]).toBe(429)
    // another address, another account: neither is slowed
    expect((await login('dispatch@ops.example', PASSWORD, '10.1.1.2')).statusCode).toBe(200)
  })

  it('makes an account wait after five wrong passwords in a row, from any address, leaving other accounts alone', async () => {
    const tries: number[] = []
    for (let i = 0; i < 6; i++) tries.push((await login('victim@ops.example', `guess ${i}`, `10.2.0.${i + 1}`)).statusCode)
    expect(tries.slice(0, 5)).toEqual([401, 401, 401, 401, 401])
    expect(tries[5]).toBe(429)
    const right = await login('victim@ops.example', PASSWORD, '10.2.1.1')
    expect(right.statusCode).toBe(429)
    expect(Number(right.headers['retry-after'])).toBeGreaterThan(0)
    expect((await login('finance@ops.example', PASSWORD, '10.2.1.2')).statusCode).toBe(200)
    // once the wait is over (made to be over here), the right password works and clears the count
    await server.db.pool.query("UPDATE users SET locked_until = now() - interval '1 second' WHERE email = 'victim@ops.example'")
    expect((await login('victim@ops.example', PASSWORD, '10.2.1.3')).statusCode).toBe(200)
    expect((await server.db.pool.query("SELECT failed_logins FROM users WHERE email = 'victim@ops.example'")).rows[0]).toEqual({ failed_logins: 0 })
  })

  it('shows a key once, stores only its hash, stamps its use, and revokes it at once on every instance', async () => {
    const created = await ok<{ key: string, id: string, lastUsedAt: string | null }>({ method: 'POST', url: '/api/keys', payload: { name: 'erp', scopes: ['parcels:read'] } })
    expect(created.key).toMatch(/^ts_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/)
    const listed = await ok<{ items: Array<Record<string, unknown>> }>({ url: '/api/keys' })
    expect(JSON.stringify(listed)).not.toContain(created.key.slice(16))
    const stored = await server.db.pool.query<{ secret_hash: Buffer }>('SELECT secret_hash FROM api_keys WHERE id = $1', [created.id])
    expect(stored.rows[0]?.secret_hash.toString('utf8')).not.toContain(created.key.slice(16))
    const bearer = { authorization: `Bearer ${created.key}` }
    expect((await call(second, { url: '/api/parcels', headers: bearer })).statusCode).toBe(200)
    expect((await ok<{ items: Array<{ id: string, lastUsedAt: string | null }> }>({ url: '/api/keys' })).items.find((k) => k.id === created.id)?.lastUsedAt).not.toBeNull()
    await ok({ method: 'DELETE', url: `/api/keys/${created.id}` })
    expect((await call(server, { url: '/api/parcels', headers: bearer })).statusCode).toBe(401)
    expect((await call(second, { url: '/api/parcels', headers: bearer })).statusCode).toBe(401)
  })

  it('stops an expired key, and refuses scopes a merchant may not hold', async () => {
    const created = await ok<{ key: string, id: string }>({ method: 'POST', url: '/api/keys', payload: { name: 'short', scopes: ['kpis:read'], expiresAt: new Date(Date.now() + 3_600_000).toISOString() } })
    expect((await call(server, { url: '/api/kpis', headers: { authorization: `Bearer ${created.key}` } })).statusCode).toBe(200)
    await server.db.pool.query("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1", [created.id])
    expect((await call(server, { url: '/api/kpis', headers: { authorization: `Bearer ${created.key}` } })).statusCode).toBe(401)
    const beyond = await call(server, { method: 'POST', url: '/api/keys', headers: admin, payload: { name: 'greedy', merchantId: 'acme', scopes: ['parcels:read', 'fleet:read'] } })
    expect(beyond.statusCode).toBe(422)
    expect(beyond.json().message).toContain('fleet:read')
  })

  it('records changes and reads of personal data in an audit log no one can rewrite', async () => {
    const { key, id } = await ok<{ key: string, id: string }>({ method: 'POST', url: '/api/keys', payload: { name: 'audited', scopes: ['parcels:read', 'parcels:write', 'pii:read'] } })
    const bearer = { authorization: `Bearer ${key}` }
    const created = await call(server, { method: 'POST', url: '/api/parcels', headers: bearer, remoteAddress: '10.3.0.1', payload: { trackingNumber: 'AUDIT-1', destination: { city: 'Bangkok', country: 'TH', name: 'Somchai' } } })
    expect(created.statusCode).toBe(201)
    await call(server, { url: `/api/parcels/${created.json<{ id: string }>().id}`, headers: bearer, remoteAddress: '10.3.0.1' })
    // entries are written once the answer has gone out
    await eventually(async () => {
      const mine = (await ok<{ items: Array<Record<string, unknown>> }>({ url: `/api/audit?actor=key:${id}` })).items
      expect(mine.map((entry) => [entry.action, entry.outcome, entry.ip])).toEqual([
        ['read parcel', 'ok', '10.3.0.1'],
        ['POST /api/parcels', 'ok', '10.3.0.1']
      ])
    })
    const exported = await call(server, { url: `/api/audit?actor=key:${id}&format=ndjson`, headers: admin })
    expect(exported.headers['content-type']).toMatch(/ndjson/)
    expect(exported.body.trim().split('\n').map((line) => (JSON.parse(line) as { action: string }).action)).toEqual(['read parcel', 'POST /api/parcels'])
    await expect(server.db.pool.query('UPDATE audit_log SET actor = $1', ['someone else'])).rejects.toThrow(/append-only/)
    await expect(server.db.pool.query('DELETE FROM audit_log')).rejects.toThrow(/append-only/)
  })
})
