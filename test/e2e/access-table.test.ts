import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PERMISSIONS, ROLE_PERMISSIONS, ROLES, type Access, type Permission, type Role } from '../../server/auth/permissions.js'
import { startTestServer, TEST_API_KEY, type TestServer } from '../support/server.js'

/**
 * What every route in the API may be called by. A route that is added without a line here fails
 * the first test, so no route goes out without someone deciding who may call it.
 */
const EXPECTED: Record<string, Access> = {
  'GET /healthz': 'public',
  'GET /metrics': 'public',
  'GET /readyz': 'public',
  'POST /api/session': 'public',
  'DELETE /api/session': 'public',
  'GET /api/session': 'public',
  'POST /api/merchants': 'access:admin',
  'GET /api/merchants': 'access:admin',
  'POST /api/keys': 'access:admin',
  'GET /api/keys': 'access:admin',
  'DELETE /api/keys/:id': 'access:admin',
  'POST /api/users': 'access:admin',
  'GET /api/users': 'access:admin',
  'PATCH /api/users/:email': 'access:admin',
  'GET /api/audit': 'access:admin',
  'POST /api/devices': 'fleet:write',
  'GET /api/devices': 'fleet:read',
  'GET /api/devices/unknown': 'fleet:read',
  'GET /api/devices/:id': 'fleet:read',
  'PATCH /api/devices/:id': 'fleet:write',
  'POST /api/devices/:id/secret': 'fleet:write',
  'GET /api/devices/:id/positions': 'fleet:read',
  'GET /api/devices/:id/events': 'fleet:read',
  'GET /api/rejects': 'fleet:read',
  'POST /api/stations': 'fleet:write',
  'GET /api/stations': 'fleet:read',
  'PUT /api/readers/:id': 'fleet:write',
  'PUT /api/readers/:id/vehicle': 'fleet:write',
  'GET /api/rfid-visits': 'fleet:read',
  'GET /api/readers': 'fleet:read',
  'POST /api/vehicles': 'fleet:write',
  'GET /api/vehicles': 'fleet:read',
  'GET /api/vehicles/:id': 'fleet:read',
  'PUT /api/vehicles/:id/driver': 'fleet:write',
  'GET /api/vehicles/:id/history': 'fleet:read',
  'GET /api/milestone-codes': 'parcels:read',
  'POST /api/parcels': 'parcels:write',
  'GET /api/parcels': 'parcels:read',
  'GET /api/parcels/:id': 'parcels:read',
  'GET /api/parcels/:id/timeline': 'parcels:read',
  'POST /api/parcels/:id/milestones': 'parcels:write',
  'POST /api/parcels/:id/tracking-link/rotate': 'parcels:write',
  'DELETE /api/parcels/:id/tracking-link': 'parcels:write',
  'POST /api/webhooks': 'webhooks',
  'GET /api/webhooks': 'webhooks',
  'DELETE /api/webhooks/:id': 'webhooks',
  'GET /api/webhooks/:id/deliveries': 'webhooks',
  'POST /api/webhooks/:id/test': 'webhooks',
  'POST /api/webhooks/deliveries/:id/retry': 'webhooks',
  'POST /api/containers': 'custody:write',
  'GET /api/containers': 'fleet:read',
  'GET /api/containers/:id': 'fleet:read',
  'POST /api/custody': 'custody:write',
  'GET /api/vehicles/:id/aboard': 'fleet:read',
  'POST /api/geofences': 'fleet:write',
  'GET /api/geofences': 'fleet:read',
  'DELETE /api/geofences/:id': 'fleet:write',
  'GET /api/exceptions': 'exceptions:read',
  'GET /api/search': 'parcels:read',
  'GET /api/kpis': 'kpis:read',
  'GET /api/finance/cod': 'finance:read',
  'GET /api/cash/balances': 'finance:read',
  'GET /api/cash/kpis': 'finance:read',
  'GET /api/cash/discrepancies': 'finance:read',
  'POST /api/cash/discrepancies/:id/resolve': 'finance:write',
  'GET /api/parcels/:id/ledger': 'finance:read',
  'GET /api/merchants/:id/settlement': 'finance:read',
  'PUT /api/merchants/:id/settlement': 'access:admin',
  'POST /api/cash/handovers': 'finance:write',
  'GET /api/cash/handovers': 'finance:read',
  'POST /api/cash/deposits': 'finance:write',
  'GET /api/cash/deposits': 'finance:read',
  'PUT /api/cash/partners/:partner/mapping': 'finance:write',
  'GET /api/cash/partners/:partner/mapping': 'finance:read',
  'POST /api/cash/partners/:partner/settlements': 'finance:write',
  'GET /api/cash/partners/:partner/settlements': 'finance:read',
  'GET /api/cash/partners/:partner/settlements/:id': 'finance:read',
  'GET /api/remittances': 'finance:read',
  'GET /api/remittances/:id': 'finance:read',
  'GET /api/remittances/:id/statement.csv': 'finance:read',
  'GET /api/remittances/:id/statement.pdf': 'finance:read',
  'POST /api/remittances/run': 'finance:write',
  'POST /api/remittances/:id/approve': 'finance:write',
  'POST /api/remittances/:id/paid': 'finance:write',
  'POST /api/cash/fx-rates': 'finance:write',
  'GET /api/cash/fx-rates': 'finance:read',
  'GET /api/track/:token': 'public',
  'GET /ws/track/:token': 'public',
  'POST /api/ingest/:channel': 'device',
  'POST /api/driver/events': 'device',
  'POST /owntracks': 'device',
  'GET /osmand': 'device',
  'POST /osmand': 'device',
  'PUT /osmand': 'device',
  'POST /integrations/ttn': 'device',
  'POST /integrations/chirpstack': 'device',
  'GET /ws/live': 'fleet:read',
  'GET /mqtt': 'device',
  'GET /': 'public',
  'GET /t/:token': 'public',
  'GET /ui-config.json': 'public',
  'GET /*': 'public'
}

interface Caller { name: string, headers: Record<string, string>, permissions: ReadonlySet<Permission>, merchant: string | null }

const PASSWORD = 'correct horse battery staple'

describe('access: every route, every role and scope, and a foreign merchant', () => {
  let server: TestServer
  const callers: Caller[] = []
  let parcelOfA: { id: string, trackingNumber: string }

  const post = async <T>(path: string, body: unknown): Promise<T> => {
    const { status, body: answer } = await server.api<T>('POST', path, body)
    if (status >= 300) throw new Error(`${path}: ${status} ${JSON.stringify(answer)}`)
    return answer
  }
  const keyFor = async (name: string, scopes: readonly Permission[], merchantId?: string): Promise<Record<string, string>> => {
    const { key } = await post<{ key: string }>('/api/keys', { name, scopes, ...(merchantId === undefined ? {} : { merchantId }) })
    return { authorization: `Bearer ${key}` }
  }
  const login = async (email: string): Promise<Record<string, string>> => {
    const answer = await server.app.inject({ method: 'POST', url: '/api/session', payload: { email, password: PASSWORD }, remoteAddress: `10.9.0.${callers.length + 1}` })
    expect(answer.statusCode, answer.body).toBe(200)
    const cookie = answer.cookies.find((c) => c.name === 'ts_session')
    return { cookie: `ts_session=${cookie?.value ?? ''}`, origin: 'http://localhost:80' }
  }

  beforeAll(async () => {
    server = await startTestServer()
    await post('/api/merchants', { id: 'acme', name: 'Acme' })
    await post('/api/merchants', { id: 'globex', name: 'Globex' })
    callers.push({ name: 'installation key', headers: { authorization: `Bearer ${TEST_API_KEY}` }, permissions: new Set(PERMISSIONS), merchant: null })
    for (const role of ROLES) {
      const email = `${role}@ops.example`
      await post('/api/users', { email, password: PASSWORD, role, ...(role === 'merchant' ? { merchantId: 'acme' } : {}) })
      callers.push({ name: `${role} user`, headers: await login(email), permissions: new Set(ROLE_PERMISSIONS[role as Role]), merchant: role === 'merchant' ? 'acme' : null })
    }
    for (const scope of PERMISSIONS) {
      callers.push({ name: `key with ${scope}`, headers: await keyFor(scope, [scope]), permissions: new Set([scope]), merchant: null })
    }
    const acmeScopes: Permission[] = ['parcels:read', 'parcels:write', 'webhooks', 'pii:read', 'finance:read']
    const globexScopes: Permission[] = ['parcels:read', 'parcels:write', 'webhooks', 'finance:read']
    callers.push({ name: 'acme key', headers: await keyFor('acme erp', acmeScopes, 'acme'), permissions: new Set(acmeScopes), merchant: 'acme' })
    callers.push({ name: 'globex key', headers: await keyFor('globex erp', globexScopes, 'globex'), permissions: new Set(globexScopes), merchant: 'globex' })
    parcelOfA = await post('/api/parcels', { trackingNumber: 'ACME-0001', merchantId: 'acme', destination: { city: 'Bangkok', country: 'TH', name: 'Somchai', address: '1 Sukhumvit' } })
  })
  afterAll(async () => { await server?.close() })

  it('every route the server has is in the table, declared as the table says', () => {
    const declared = Object.fromEntries(server.app.routeAccess())
    expect(declared).toEqual(EXPECTED)
  })

  it('every route in the OpenAPI document is in the table, and says how it is authenticated', async () => {
    const doc = (await server.app.inject({ url: '/docs/json' })).json<{ paths: Record<string, Record<string, { security?: unknown[] }>> }>()
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const key = `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`
        expect(EXPECTED[key], key).toBeDefined()
        const access = EXPECTED[key] as Access
        // OsmAnd's protocol has no password: the device id is its only identity
        if (access !== 'public' && !key.includes('/osmand')) expect(operation.security, `${key} declares its security scheme`).toBeDefined()
      }
    }
  })

  /** A URL that reaches the route with made-up parameters: the door answers before anything is looked up. */
  const urlOf = (path: string): string => path
    .replace(':token', 'aaaaaaaaaaaaaaaaaaaaaa').replace(':email', 'nobody%40ops.example').replace(':channel', 'fix')
    .replace(':id', 'no-such-thing').replace('/*', '/ops.js')

  const checked = Object.entries(EXPECTED).filter(([, access]) => access !== 'device')
  it.each(checked)('%s answers each caller as its access says (%s)', async (route, access) => {
    const [method, path] = route.split(' ') as [string, string]
    const call = async (headers: Record<string, string>) => await server.app.inject({
      method: method as 'GET',
      url: urlOf(path),
      headers,
      ...(method === 'GET' || method === 'DELETE' ? {} : { payload: {} })
    })
    const anonymous = await call({})
    if (access === 'public') {
      expect(anonymous.statusCode, `${route} anonymous`).not.toBe(401)
      expect(anonymous.statusCode, `${route} anonymous`).not.toBe(403)
      return
    }
    expect(anonymous.statusCode, `${route} anonymous`).toBe(401)
    for (const caller of callers) {
      const answer = await call(caller.headers)
      const allowed = caller.permissions.has(access as Permission)
      if (allowed) {
        expect([401, 403], `${route} for ${caller.name}: ${answer.body}`).not.toContain(answer.statusCode)
      } else {
        expect(answer.statusCode, `${route} for ${caller.name}: ${answer.body}`).toBe(403)
      }
    }
  })

  it('a device route refuses a caller without the device\'s own credentials', async () => {
    for (const [route, access] of Object.entries(EXPECTED)) {
      if (access !== 'device' || route.includes('/mqtt') || route.includes('osmand')) continue
      const [method, path] = route.split(' ') as [string, string]
      const answer = await server.app.inject({ method: method as 'POST', url: urlOf(path), headers: { authorization: `Bearer ${TEST_API_KEY}` }, payload: {} })
      expect(answer.statusCode, route).toBe(401)
    }
  })

  it('answers an unknown device id and a wrong secret alike over HTTP, so ids cannot be enumerated', async () => {
    await server.registerDevice('van-known')
    const basic = (id: string, secret: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` })
    const fix = { lat: 13.7, lon: 100.5, time: new Date().toISOString() }
    const unknown = await server.app.inject({ method: 'POST', url: '/api/ingest/fix', headers: basic('van-nobody', 'whatever-secret'), payload: fix })
    const wrong = await server.app.inject({ method: 'POST', url: '/api/ingest/fix', headers: basic('van-known', 'whatever-secret'), payload: fix })
    expect(unknown.statusCode).toBe(401)
    expect(wrong.body).toBe(unknown.body)
    expect(wrong.headers['www-authenticate']).toBe(unknown.headers['www-authenticate'])
  })

  it('another merchant\'s parcel answers 404 on every route that names a parcel, and is in none of its lists', async () => {
    const globex = callers.find((c) => c.name === 'globex key') as Caller
    const acme = callers.find((c) => c.name === 'acme key') as Caller
    const routes: Array<[string, string, Record<string, unknown> | undefined]> = [
      ['GET', `/api/parcels/${parcelOfA.id}`, undefined],
      ['GET', `/api/parcels/${parcelOfA.trackingNumber}`, undefined],
      ['GET', `/api/parcels/${parcelOfA.id}/timeline`, undefined],
      ['POST', `/api/parcels/${parcelOfA.id}/milestones`, { code: 'arrived_at_facility' }],
      ['POST', `/api/parcels/${parcelOfA.id}/tracking-link/rotate`, {}],
      ['DELETE', `/api/parcels/${parcelOfA.id}/tracking-link`, undefined]
    ]
    for (const [method, url, payload] of routes) {
      const foreign = await server.app.inject({ method: method as 'GET', url, headers: globex.headers, ...(payload === undefined ? {} : { payload }) })
      expect(foreign.statusCode, `${method} ${url} for globex: ${foreign.body}`).toBe(404)
    }
    const own = await server.app.inject({ url: `/api/parcels/${parcelOfA.id}`, headers: acme.headers })
    expect(own.statusCode).toBe(200)
    expect(own.json()).toMatchObject({ merchantId: 'acme', destination: { name: 'Somchai' } })

    const list = await server.app.inject({ url: '/api/parcels', headers: globex.headers })
    expect(list.json<{ items: unknown[] }>().items).toEqual([])
    const search = await server.app.inject({ url: '/api/search?q=acme-00', headers: globex.headers })
    expect(search.json<{ items: unknown[] }>().items).toEqual([])
    const ownSearch = await server.app.inject({ url: '/api/search?q=acme-00', headers: acme.headers })
    expect(ownSearch.json<{ items: Array<{ id: string }> }>().items.map((item) => item.id)).toEqual([parcelOfA.id])
  })

  it('a merchant\'s key registers parcels for its merchant only', async () => {
    const globex = callers.find((c) => c.name === 'globex key') as Caller
    const created = await server.app.inject({ method: 'POST', url: '/api/parcels', headers: globex.headers, payload: { trackingNumber: 'GLX-1', destination: { city: 'Hanoi', country: 'VN' } } })
    expect(created.statusCode, created.body).toBe(201)
    expect(created.json()).toMatchObject({ merchantId: 'globex' })
    const other = await server.app.inject({ method: 'POST', url: '/api/parcels', headers: globex.headers, payload: { trackingNumber: 'GLX-2', merchantId: 'acme', destination: { city: 'Hanoi', country: 'VN' } } })
    expect(other.statusCode).toBe(422)
  })

  it('sums a merchant\'s own cash on delivery for it, and every merchant\'s for finance', async () => {
    const acme = callers.find((c) => c.name === 'acme key') as Caller
    const globex = callers.find((c) => c.name === 'globex key') as Caller
    const finance = callers.find((c) => c.name === 'finance user') as Caller
    for (const [caller, number, amount] of [[acme, 'ACME-COD', 450], [globex, 'GLX-COD', 120.5]] as const) {
      const created = await server.app.inject({ method: 'POST', url: '/api/parcels', headers: caller.headers, payload: { trackingNumber: number, destination: { city: 'Bangkok', country: 'TH' }, cashOnDelivery: { amount, currency: 'THB' } } })
      expect(created.statusCode, created.body).toBe(201)
      const delivered = await server.app.inject({ method: 'POST', url: `/api/parcels/${number}/milestones`, headers: caller.headers, payload: { code: 'delivered', cod: { amount: String(amount), currency: 'THB' } } })
      expect(delivered.statusCode, delivered.body).toBe(201)
    }
    const totals = async (caller: Caller): Promise<unknown> => (await server.app.inject({ url: '/api/finance/cod', headers: caller.headers })).json<{ items: unknown[] }>().items
    expect(await totals(acme)).toEqual([{ currency: 'THB', parcels: 1, expected: '450.00', collected: '450.00', outstanding: '0.00' }])
    expect(await totals(finance)).toEqual([{ currency: 'THB', parcels: 2, expected: '570.50', collected: '570.50', outstanding: '0.00' }])
  })

  it('roles without pii:read see a parcel without the buyer\'s name and address', async () => {
    const viewer = callers.find((c) => c.name === 'viewer user') as Caller
    const answer = await server.app.inject({ url: `/api/parcels/${parcelOfA.id}`, headers: viewer.headers })
    expect(answer.statusCode).toBe(200)
    expect(answer.json()).toMatchObject({ destination: { name: null, address: null, city: 'Bangkok' } })
  })
})
