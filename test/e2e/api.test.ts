import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { deviceTopic } from '../../proto/topics.js'
import { connectDevice, FrameCollector, publish, refusedConnect } from '../support/clients.js'
import { startTestServer, TEST_API_KEY, type TestServer } from '../support/server.js'

interface Operation {
  security?: unknown[]
  responses?: Record<string, unknown>
  requestBody?: { content?: Record<string, { schema?: unknown }> }
}
interface OpenApiDocument {
  openapi: string
  components: { securitySchemes: Record<string, unknown> }
  paths: Record<string, Record<string, Operation>>
}
interface ErrorBody { statusCode: number, code: string, error: string, message: string }
interface Parcel {
  id: string
  trackingNumber: string
  epc: string | null
  status: string
  statusAt: string
  destination: Record<string, unknown>
  cashOnDelivery: { amount: string, currency: string } | null
  trackingUrl: string
  createdAt: string
}
interface PublicMilestone { code: string, label: string, time: string, location: { city: string | null, country: string | null, timezone: string | null } | null }
interface TrackFrame { type: string, milestones?: PublicMilestone[], tracking?: { milestones: PublicMilestone[] } }
interface TimelineItem { id: string, code: string, time: string, source: string, deviceId: string | null, note: string | null, lat: number | null, lon: number | null, station: Record<string, unknown> | null }

const WRITE_METHODS = new Set(['post', 'put', 'patch'])
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

/** The operations listed in the OpenAPI document, as "METHOD /path", sorted. */
function operationsOf (doc: OpenApiDocument): Array<{ key: string, method: string, path: string, operation: Operation }> {
  return Object.entries(doc.paths)
    .flatMap(([path, methods]) => Object.entries(methods).map(([method, operation]) => ({ key: `${method.toUpperCase()} ${path}`, method, path, operation })))
    .sort((a, b) => a.key.localeCompare(b.key))
}

async function fetchDoc (server: TestServer): Promise<OpenApiDocument> {
  const response = await fetch(`${server.httpUrl}/docs/json`)
  expect(response.status).toBe(200)
  return await response.json() as OpenApiDocument
}

/** A request with no credentials; `body` is sent as JSON text. */
async function anonymous (server: TestServer, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number, text: string }> {
  const response = await fetch(`${server.httpUrl}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body
  })
  return { status: response.status, text: await response.text() }
}

/** 'open' if the WebSocket upgrade succeeded, else the HTTP status the server answered with. */
async function upgrade (url: string, headers: Record<string, string> = {}): Promise<number | 'open'> {
  const socket = new WebSocket(url, { headers })
  return await new Promise((resolve, reject) => {
    socket.once('open', () => { socket.close(); resolve('open') })
    socket.once('unexpected-response', (request, response) => {
      resolve(response.statusCode ?? 0)
      response.resume()
      request.destroy()
    })
    socket.once('error', reject)
  })
}

const tokenOf = (trackingUrl: string): string => new URL(trackingUrl).pathname.split('/').pop() ?? ''
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

async function createParcel (server: TestServer, body: Record<string, unknown>): Promise<Parcel> {
  const created = await server.api<Parcel>('POST', '/api/parcels', { destination: { city: 'Bangkok', country: 'TH' }, ...body })
  expect(created.status).toBe(201)
  return created.body
}

const BANGKOK_HUB = {
  id: 'BKK-HUB', name: 'Bangkok hub', kind: 'hub', lat: 13.69, lon: 100.7501, city: 'Bangkok', country: 'TH', timezone: 'Asia/Bangkok'
}

/** Operations anyone may call: liveness, login, the buyer's tracking view and the pages' config. */
const PUBLIC_OPERATIONS = [
  'DELETE /api/session',
  'GET /api/session',
  'GET /api/track/{token}',
  'GET /healthz',
  'GET /metrics',
  // the OsmAnd protocol has no password: the registered device id it names is its only identity
  'GET /osmand',
  'GET /readyz',
  'GET /ui-config.json',
  'POST /api/session',
  'POST /osmand',
  'PUT /osmand'
]

/** Operations devices call with their own id and secret (HTTP Basic), not the API key. */
const DEVICE_OPERATIONS = [
  'POST /api/driver/events',
  'POST /api/ingest/{channel}',
  'POST /integrations/chirpstack',
  'POST /integrations/ttn',
  'POST /owntracks'
]

/** Bodies that pass validation, so only the missing credentials can refuse the request. */
const VALID_BODIES: Record<string, unknown> = {
  'POST /api/devices': { id: 'probe-1', kind: 'tracker' },
  'POST /api/stations': { id: 'PROBE', name: 'Probe', kind: 'depot', lat: 0, lon: 0 },
  'PUT /api/readers/{id}': { stationId: 'PROBE', milestone: 'sorted' },
  'POST /api/vehicles': { id: 'PROBE', name: 'Probe' },
  'POST /api/parcels': { trackingNumber: 'PROBE', destination: { city: 'Bangkok', country: 'TH' } },
  'POST /api/parcels/{id}/milestones': { code: 'sorted' },
  'POST /api/containers': { id: 'PROBE', kind: 'tote' },
  'POST /api/geofences': { id: 'PROBE', name: 'Probe', kind: 'other', shape: { type: 'circle', lat: 13, lon: 100, radiusM: 100 } },
  'POST /api/custody': { items: [{ parcel: 'PROBE' }], into: null },
  'PUT /api/readers/{id}/vehicle': { vehicleId: null },
  'PUT /api/vehicles/{id}/driver': { driver: null },
  'POST /api/webhooks': { url: 'https://erp.example.com/hooks' }
}

describe('access: everything but the public routes needs the API key', () => {
  let server: TestServer
  let doc: OpenApiDocument

  beforeAll(async () => {
    server = await startTestServer()
    doc = await fetchDoc(server)
  })
  afterAll(async () => { await server?.close() })

  it('documents security on every operation except exactly the public ones', () => {
    const open = operationsOf(doc).filter(({ operation }) => operation.security === undefined).map(({ key }) => key)
    expect(open).toEqual(PUBLIC_OPERATIONS)
    const byDevices = operationsOf(doc).filter(({ key }) => DEVICE_OPERATIONS.includes(key))
    for (const { operation } of byDevices) expect(operation.security).toEqual([{ deviceBasic: [] }])
    const secured = operationsOf(doc).filter(({ key, operation }) => operation.security !== undefined && !DEVICE_OPERATIONS.includes(key))
    for (const { operation } of secured) expect(operation.security).toEqual([{ apiKey: [] }, { session: [] }])
    expect(secured.map(({ key }) => key)).toEqual([
      'DELETE /api/geofences/{id}',
      'DELETE /api/keys/{id}',
      'DELETE /api/parcels/{id}/tracking-link',
      'DELETE /api/webhooks/{id}',
      'GET /api/audit',
      'GET /api/cash/balances',
      'GET /api/cash/deposits',
      'GET /api/cash/discrepancies',
      'GET /api/cash/fx-rates',
      'GET /api/cash/handovers',
      'GET /api/cash/kpis',
      'GET /api/cash/partners/{partner}/mapping',
      'GET /api/cash/partners/{partner}/settlements',
      'GET /api/cash/partners/{partner}/settlements/{id}',
      'GET /api/containers',
      'GET /api/containers/{id}',
      'GET /api/devices',
      'GET /api/devices/{id}',
      'GET /api/devices/{id}/events',
      'GET /api/devices/{id}/positions',
      'GET /api/devices/unknown',
      'GET /api/exceptions',
      'GET /api/finance/cod',
      'GET /api/geofences',
      'GET /api/keys',
      'GET /api/kpis',
      'GET /api/merchants',
      'GET /api/merchants/{id}/settlement',
      'GET /api/milestone-codes',
      'GET /api/parcels',
      'GET /api/parcels/{id}',
      'GET /api/parcels/{id}/ledger',
      'GET /api/parcels/{id}/timeline',
      'GET /api/readers',
      'GET /api/rejects',
      'GET /api/remittances',
      'GET /api/remittances/{id}',
      'GET /api/remittances/{id}/statement.csv',
      'GET /api/remittances/{id}/statement.pdf',
      'GET /api/rfid-visits',
      'GET /api/search',
      'GET /api/stations',
      'GET /api/users',
      'GET /api/vehicles',
      'GET /api/vehicles/{id}',
      'GET /api/vehicles/{id}/aboard',
      'GET /api/vehicles/{id}/history',
      'GET /api/webhooks',
      'GET /api/webhooks/{id}/deliveries',
      'PATCH /api/devices/{id}',
      'PATCH /api/users/{email}',
      'POST /api/cash/deposits',
      'POST /api/cash/discrepancies/{id}/resolve',
      'POST /api/cash/fx-rates',
      'POST /api/cash/handovers',
      'POST /api/cash/partners/{partner}/settlements',
      'POST /api/containers',
      'POST /api/custody',
      'POST /api/devices',
      'POST /api/devices/{id}/secret',
      'POST /api/geofences',
      'POST /api/keys',
      'POST /api/merchants',
      'POST /api/parcels',
      'POST /api/parcels/{id}/milestones',
      'POST /api/parcels/{id}/tracking-link/rotate',
      'POST /api/remittances/{id}/approve',
      'POST /api/remittances/{id}/paid',
      'POST /api/remittances/run',
      'POST /api/stations',
      'POST /api/users',
      'POST /api/vehicles',
      'POST /api/webhooks',
      'POST /api/webhooks/{id}/test',
      'POST /api/webhooks/deliveries/{id}/retry',
      'PUT /api/cash/partners/{partner}/mapping',
      'PUT /api/merchants/{id}/settlement',
      'PUT /api/readers/{id}',
      'PUT /api/readers/{id}/vehicle',
      'PUT /api/vehicles/{id}/driver'
    ])
  })

  it('refuses every secured operation without credentials with 401 TS_UNAUTHORIZED, and runs none of them', async () => {
    const answers: Record<string, { status: number, code: string }> = {}
    const expected: Record<string, { status: number, code: string }> = {}
    for (const { key, method, path, operation } of operationsOf(doc)) {
      if (operation.security === undefined) continue
      const body = WRITE_METHODS.has(method) ? JSON.stringify(VALID_BODIES[key] ?? {}) : undefined
      const { status, text } = await anonymous(server, method.toUpperCase(), path.replace(/\{[^}]+\}/g, 'x'), body)
      answers[key] = { status, code: (JSON.parse(text) as ErrorBody).code }
      expected[key] = { status: 401, code: DEVICE_OPERATIONS.includes(key) ? 'TS_DEVICE_REFUSED' : 'TS_UNAUTHORIZED' }
    }
    expect(Object.keys(answers)).toHaveLength(80 + DEVICE_OPERATIONS.length)
    expect(answers).toEqual(expected)
    for (const list of ['/api/devices', '/api/stations', '/api/vehicles', '/api/parcels', '/api/readers']) {
      expect((await server.api<{ items: unknown[] }>('GET', list)).body.items).toEqual([])
    }
  })

  // Bug: requireOps is a preHandler, and Fastify validates the body before preHandlers run, so an
  // anonymous caller with a malformed body gets 400 FST_ERR_VALIDATION instead of 401.
  it('refuses an anonymous request with 401 even when its body is malformed', async () => {
    const answers: Record<string, number> = {}
    const expected: Record<string, number> = {}
    for (const { key, method, path, operation } of operationsOf(doc)) {
      if (operation.security === undefined || !WRITE_METHODS.has(method)) continue
      answers[key] = (await anonymous(server, method.toUpperCase(), path.replace(/\{[^}]+\}/g, 'x'), '{}')).status
      expected[key] = 401
    }
    expect(answers).toEqual(expected)
  })

  it('serves every public operation without credentials', async () => {
    expect((await anonymous(server, 'GET', '/healthz')).status).toBe(200)
    expect((await anonymous(server, 'GET', '/readyz')).status).toBe(200)
    expect((await anonymous(server, 'GET', '/metrics')).status).toBe(200)
    expect((await anonymous(server, 'GET', '/ui-config.json')).status).toBe(200)
    expect(await anonymous(server, 'GET', '/api/session')).toEqual({ status: 200, text: LOGGED_OUT })
    expect((await anonymous(server, 'DELETE', '/api/session')).status).toBe(204)
    expect((await anonymous(server, 'POST', '/api/session', JSON.stringify({ apiKey: TEST_API_KEY }))).status).toBe(200)
    expect((await anonymous(server, 'GET', `/api/track/${'A'.repeat(22)}`)).status).toBe(404)
  })

  it('refuses a wrong bearer key with 401 TS_UNAUTHORIZED', async () => {
    for (const key of ['wrong', `${TEST_API_KEY}x`, TEST_API_KEY.slice(0, -1), TEST_API_KEY.toUpperCase()]) {
      const { status, text } = await anonymous(server, 'GET', '/api/devices', undefined, { authorization: `Bearer ${key}` })
      expect(status).toBe(401)
      expect((JSON.parse(text) as ErrorBody).code).toBe('TS_UNAUTHORIZED')
    }
    expect((await anonymous(server, 'GET', '/api/devices', undefined, { authorization: `Bearer ${TEST_API_KEY}` })).status).toBe(200)
  })

  it('refuses the /ws/live upgrade without the key and accepts it with the bearer header', async () => {
    expect(await upgrade(`${server.wsUrl}/ws/live`)).toBe(401)
    expect(await upgrade(`${server.wsUrl}/ws/live`, { authorization: 'Bearer wrong' })).toBe(401)
    const ops = await FrameCollector.open(`${server.wsUrl}/ws/live`, { authorization: `Bearer ${TEST_API_KEY}` })
    try {
      expect(await ops.waitFor((frame) => frame.type === 'snapshot')).toEqual({ type: 'snapshot', positions: [] })
    } finally {
      ops.close()
    }
  })

  it('refuses a customer tracking token used as a bearer key', async () => {
    const parcel = await createParcel(server, { trackingNumber: 'ACCESS-1' })
    const token = tokenOf(parcel.trackingUrl)
    expect(token.length).toBeGreaterThanOrEqual(22)
    const headers = { authorization: `Bearer ${token}` }
    const list = await anonymous(server, 'GET', '/api/parcels', undefined, headers)
    expect(list.status).toBe(401)
    expect((JSON.parse(list.text) as ErrorBody).code).toBe('TS_UNAUTHORIZED')
    expect((await anonymous(server, 'GET', `/api/parcels/${parcel.id}`, undefined, headers)).status).toBe(401)
    expect(await upgrade(`${server.wsUrl}/ws/live`, headers)).toBe(401)
    // the token does open what it is for
    expect((await anonymous(server, 'GET', `/api/track/${token}`)).status).toBe(200)
  })
})

const LOGGED_OUT = '{"loggedIn":false,"actor":null,"role":null,"merchantId":null,"permissions":[]}'
const loggedIn = (text: string): boolean => (JSON.parse(text) as { loggedIn: boolean }).loggedIn

describe('browser sessions: log in with the key, get a session cookie', () => {
  let server: TestServer
  let cookie: string
  let setCookie: string
  let loginBody: { expiresAt: string }
  let loginStatus: number
  let loggedInAt: number

  beforeAll(async () => {
    server = await startTestServer()
    loggedInAt = Date.now()
    const response = await fetch(`${server.httpUrl}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey: TEST_API_KEY })
    })
    loginStatus = response.status
    loginBody = await response.json() as { expiresAt: string }
    setCookie = response.headers.getSetCookie()[0] ?? ''
    cookie = setCookie.split(';')[0] ?? ''
  })
  afterAll(async () => { await server?.close() })

  const withCookie = (value: string): Record<string, string> => ({ cookie: value })
  const tamper = (value: string): string => {
    const at = value.indexOf('=') + 1
    const first = value.charAt(at)
    return `${value.slice(0, at)}${first === 'A' ? 'B' : 'A'}${value.slice(at + 1)}`
  }

  it('refuses a wrong key with 401 TS_BAD_API_KEY and sets no cookie', async () => {
    const response = await fetch(`${server.httpUrl}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey: 'not-the-key' })
    })
    expect(response.status).toBe(401)
    expect(((await response.json()) as ErrorBody).code).toBe('TS_BAD_API_KEY')
    expect(response.headers.getSetCookie()).toEqual([])
  })

  it('answers the right key with 200 and an HttpOnly, SameSite=Strict ts_session cookie for 12 hours', () => {
    expect(loginStatus).toBe(200)
    const expiresAt = Date.parse(loginBody.expiresAt)
    expect(expiresAt).toBeGreaterThanOrEqual(loggedInAt + 12 * 3600_000)
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 12 * 3600_000)
    expect(cookie).toMatch(/^ts_session=[A-Za-z0-9_-]{43}$/)
    const attributes = setCookie.split(';').slice(1).map((part) => part.trim())
    expect(attributes).toContain('HttpOnly')
    expect(attributes).toContain('SameSite=Strict')
    expect(attributes).toContain('Path=/')
    expect(attributes).not.toContain('Secure')
  })

  it('opens the API with the cookie alone', async () => {
    const { status, text } = await anonymous(server, 'GET', '/api/devices', undefined, withCookie(cookie))
    expect(status).toBe(200)
    expect(JSON.parse(text)).toEqual({ items: [] })
  })

  it('opens the /ws/live WebSocket with the cookie alone, from a page of its own origin', async () => {
    // a browser always sends Origin on a WebSocket; a cookie from any other origin is refused (ws-origin.test.ts)
    const ops = await FrameCollector.open(`${server.wsUrl}/ws/live`, { ...withCookie(cookie), origin: server.httpUrl })
    try {
      expect(await ops.waitFor((frame) => frame.type === 'snapshot')).toEqual({ type: 'snapshot', positions: [] })
    } finally {
      ops.close()
    }
  })

  it('refuses a cookie that was changed by one character', async () => {
    const forged = tamper(cookie)
    expect(forged).not.toBe(cookie)
    expect(forged.length).toBe(cookie.length)
    const { status, text } = await anonymous(server, 'GET', '/api/devices', undefined, withCookie(forged))
    expect(status).toBe(401)
    expect((JSON.parse(text) as ErrorBody).code).toBe('TS_UNAUTHORIZED')
    expect(await upgrade(`${server.wsUrl}/ws/live`, withCookie(forged))).toBe(401)
    expect(await anonymous(server, 'GET', '/api/session', undefined, withCookie(forged))).toEqual({ status: 200, text: LOGGED_OUT })
  })

  it('reports loggedIn true with the cookie and false without it', async () => {
    expect(loggedIn((await anonymous(server, 'GET', '/api/session', undefined, withCookie(cookie))).text)).toBe(true)
    expect(await anonymous(server, 'GET', '/api/session')).toEqual({ status: 200, text: LOGGED_OUT })
    expect(loggedIn((await anonymous(server, 'GET', '/api/session', undefined, { authorization: `Bearer ${TEST_API_KEY}` })).text)).toBe(true)
  })

  it('clears the cookie on logout', async () => {
    const response = await fetch(`${server.httpUrl}/api/session`, { method: 'DELETE', headers: withCookie(cookie) })
    expect(response.status).toBe(204)
    expect(await response.text()).toBe('')
    const cleared = response.headers.getSetCookie()
    expect(cleared).toHaveLength(1)
    const parts = (cleared[0] ?? '').split(';').map((part) => part.trim())
    expect(parts[0]).toBe('ts_session=')
    expect(parts).toContain('Path=/')
    const expires = parts.find((part) => part.startsWith('Expires='))
    expect(Date.parse(expires?.slice('Expires='.length) ?? '')).toBe(0)
    // the session ended on the server: the same cookie, kept by an attacker, opens nothing
    expect((await anonymous(server, 'GET', '/api/devices', undefined, withCookie(cookie))).status).toBe(401)
    expect(await upgrade(`${server.wsUrl}/ws/live`, withCookie(cookie))).toBe(401)
  })
})

describe('OpenAPI document and Swagger UI', () => {
  let server: TestServer
  let doc: OpenApiDocument

  beforeAll(async () => {
    server = await startTestServer()
    doc = await fetchDoc(server)
  })
  afterAll(async () => { await server?.close() })

  it('is an OpenAPI 3 document with the bearer key and the session cookie as security schemes', () => {
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/)
    expect(doc.components.securitySchemes).toEqual({
      apiKey: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      session: expect.objectContaining({ type: 'apiKey', in: 'cookie', name: 'ts_session' }),
      deviceBasic: expect.objectContaining({ type: 'http', scheme: 'basic' })
    })
  })

  it('leaves out the hidden routes: the MQTT and viewer WebSockets and the dashboard pages', () => {
    const paths = Object.keys(doc.paths)
    for (const hidden of ['/mqtt', '/ws/live', '/ws/track/{token}', '/', '/t/{token}', '/docs', '/docs/json', '/*']) {
      expect(paths).not.toContain(hidden)
    }
  })

  it('gives every operation its responses and every write with a body a JSON request schema', () => {
    const operations = operationsOf(doc)
    expect(operations).toHaveLength(PUBLIC_OPERATIONS.length + 80 + DEVICE_OPERATIONS.length)
    for (const { key, operation } of operations) {
      expect(Object.keys(operation.responses ?? {}), key).not.toEqual([])
    }
    const writes = operations.filter(({ method }) => WRITE_METHODS.has(method))
    const withoutBody = writes.filter(({ operation }) => typeof operation.requestBody?.content?.['application/json']?.schema !== 'object')
    // issuing a new secret or tracking link, or approving a batch, takes no input; a partner's settlement file is CSV; devices post their own formats, which their decoders check
    expect(withoutBody.map(({ key }) => key).sort()).toEqual([
      'POST /api/cash/partners/{partner}/settlements',
      'POST /api/devices/{id}/secret',
      'POST /api/driver/events',
      'POST /api/ingest/{channel}',
      'POST /api/parcels/{id}/tracking-link/rotate',
      'POST /api/remittances/{id}/approve',
      'POST /api/webhooks/deliveries/{id}/retry',
      'POST /api/webhooks/{id}/test',
      'POST /integrations/chirpstack',
      'POST /integrations/ttn',
      'POST /osmand',
      'POST /owntracks',
      'PUT /osmand'
    ])
    expect(writes.length).toBe(39)
  })

  it('serves the Swagger UI from local assets only', async () => {
    const response = await fetch(`${server.httpUrl}/docs`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/html/)
    const html = await response.text()
    expect(html).toContain('<div id="swagger-ui"></div>')
    expect(html).not.toMatch(/https?:\/\//)
    const assets = [...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*\shref)="([^"]*)"/g)].map((match) => match[1] ?? '')
    expect(assets.length).toBeGreaterThanOrEqual(4)
    for (const asset of assets) {
      expect(asset).not.toMatch(/^\/\//)
      const url = new URL(asset, response.url)
      expect(url.origin).toBe(server.httpUrl)
      const served = await fetch(url)
      expect(served.status, asset).toBe(200)
      expect((await served.arrayBuffer()).byteLength, asset).toBeGreaterThan(0)
    }
    const initializer = await (await fetch(`${server.httpUrl}/docs/static/swagger-initializer.js`)).text()
    // no online spec validator, and the spec itself comes from this server
    expect(initializer).toContain('validatorUrl: null,')
    expect(initializer).toContain("url: resolveUrl('./json'),")
  })
})

describe('validation and conflicts', () => {
  let server: TestServer

  beforeAll(async () => {
    server = await startTestServer()
    await server.registerDevice('trk-1')
    await server.registerDevice('rdr-1', 'reader')
    expect((await server.api('POST', '/api/stations', BANGKOK_HUB)).status).toBe(201)
  })
  afterAll(async () => { await server?.close() })

  const expectError = async (method: string, path: string, body: unknown, status: number, code: string): Promise<void> => {
    const response = await server.api<ErrorBody>(method, path, body)
    expect({ status: response.status, code: response.body.code }).toEqual({ status, code })
  }

  it('refuses a device of an unknown kind or with an id not fit for MQTT', async () => {
    await expectError('POST', '/api/devices', { id: 'ph-1', kind: 'phone' }, 400, 'FST_ERR_VALIDATION')
    await expectError('POST', '/api/devices', { id: 'bad/id', kind: 'tracker' }, 400, 'FST_ERR_VALIDATION')
    await expectError('POST', '/api/devices', { id: 'trk-2', kind: 'tracker', extra: 1 }, 400, 'FST_ERR_VALIDATION')
    expect((await server.api<{ items: Array<{ id: string }> }>('GET', '/api/devices')).body.items.map((d) => d.id)).toEqual(['trk-1', 'rdr-1'])
  })

  it('refuses a duplicate device id with 409 TS_ALREADY_EXISTS', async () => {
    await expectError('POST', '/api/devices', { id: 'trk-1', kind: 'tracker' }, 409, 'TS_ALREADY_EXISTS')
    await expectError('POST', '/api/devices', { id: 'trk-1', kind: 'reader' }, 409, 'TS_ALREADY_EXISTS')
  })

  it('never returns the secret hash of a device', async () => {
    const created = await server.api<Record<string, unknown>>('POST', '/api/devices', { id: 'trk-3', kind: 'tracker', name: 'Van 3' })
    expect(created.status).toBe(201)
    expect(created.body.secret).toEqual(expect.stringMatching(/^.{16,}$/))
    const list = await server.api('GET', '/api/devices')
    const one = await server.api<Record<string, unknown>>('GET', '/api/devices/trk-3')
    expect(one.body).toMatchObject({ id: 'trk-3', kind: 'tracker', name: 'Van 3', disabled: false })
    expect(one.body.secret).toBeUndefined()
    for (const body of [created.body, list.body, one.body]) {
      expect(JSON.stringify(body)).not.toMatch(/secretHash|secret_hash/)
    }
  })

  it('refuses a station off the globe, in an unknown time zone, or with a taken id', async () => {
    await expectError('POST', '/api/stations', { ...BANGKOK_HUB, id: 'NORTH', lat: 91 }, 400, 'FST_ERR_VALIDATION')
    await expectError('POST', '/api/stations', { ...BANGKOK_HUB, id: 'EAST', lon: 180.5 }, 400, 'FST_ERR_VALIDATION')
    await expectError('POST', '/api/stations', { ...BANGKOK_HUB, id: 'MARS', timezone: 'Mars/Olympus' }, 422, 'TS_UNKNOWN_REFERENCE')
    await expectError('POST', '/api/stations', BANGKOK_HUB, 409, 'TS_ALREADY_EXISTS')
    expect((await server.api<{ items: Array<{ id: string }> }>('GET', '/api/stations')).body.items.map((s) => s.id)).toEqual(['BKK-HUB'])
  })

  it('places a reader only if it is a known reader device at a known station with a scan milestone', async () => {
    await expectError('PUT', '/api/readers/nobody', { stationId: 'BKK-HUB', milestone: 'sorted' }, 422, 'TS_UNKNOWN_REFERENCE')
    await expectError('PUT', '/api/readers/trk-1', { stationId: 'BKK-HUB', milestone: 'sorted' }, 422, 'TS_WRONG_KIND')
    await expectError('PUT', '/api/readers/rdr-1', { stationId: 'NOWHERE', milestone: 'sorted' }, 422, 'TS_UNKNOWN_REFERENCE')
    await expectError('PUT', '/api/readers/rdr-1', { stationId: 'BKK-HUB', milestone: 'delivered' }, 400, 'FST_ERR_VALIDATION')
    expect((await server.api('GET', '/api/readers')).body).toEqual({ items: [] })
    const placed = await server.api('PUT', '/api/readers/rdr-1', { stationId: 'BKK-HUB', milestone: 'sorted' })
    expect(placed.status).toBe(200)
    expect(placed.body).toMatchObject({ deviceId: 'rdr-1', stationId: 'BKK-HUB', milestone: 'sorted', name: null })
  })

  it('gives a vehicle only a tracker, and each tracker to one vehicle', async () => {
    await expectError('POST', '/api/vehicles', { id: 'V0', name: 'Van 0', deviceId: 'rdr-1' }, 422, 'TS_WRONG_KIND')
    await expectError('POST', '/api/vehicles', { id: 'V0', name: 'Van 0', deviceId: 'ghost' }, 422, 'TS_UNKNOWN_REFERENCE')
    expect((await server.api('POST', '/api/vehicles', { id: 'V1', name: 'Van 1', deviceId: 'trk-1' })).status).toBe(201)
    await expectError('POST', '/api/vehicles', { id: 'V2', name: 'Van 2', deviceId: 'trk-1' }, 409, 'TS_ALREADY_EXISTS')
    await expectError('POST', '/api/vehicles', { id: 'V1', name: 'Van 1 again' }, 409, 'TS_ALREADY_EXISTS')
    expect((await server.api<{ items: Array<{ id: string }> }>('GET', '/api/vehicles')).body.items.map((v) => v.id)).toEqual(['V1'])
  })

  it('names a vehicle\'s driver for the shift, keeps them across a restart, and takes them off', async () => {
    await expectError('PUT', '/api/vehicles/V1/driver', { driver: { name: '' } }, 400, 'FST_ERR_VALIDATION')
    await expectError('PUT', '/api/vehicles/V1/driver', { driver: { name: 'Somchai', phone: 'call me' } }, 400, 'FST_ERR_VALIDATION')
    await expectError('PUT', '/api/vehicles/NOPE/driver', { driver: { name: 'Somchai' } }, 404, 'TS_NOT_FOUND')
    await expectError('GET', '/api/vehicles/NOPE', undefined, 404, 'TS_NOT_FOUND')
    expect((await server.api('GET', '/api/vehicles/V1')).body).toMatchObject({ id: 'V1', driver: null })
    const named = await server.api<{ driver: { name: string, phone: string | null, since: string } }>('PUT', '/api/vehicles/V1/driver', { driver: { name: 'Somchai K.', phone: '+66 81 234 5678' } })
    expect(named.status).toBe(200)
    expect(named.body.driver).toEqual({ name: 'Somchai K.', phone: '+66 81 234 5678', since: expect.any(String) })
    expect(Math.abs(Date.parse(named.body.driver.since) - Date.now())).toBeLessThan(60_000)
    const withDriver = await server.api('POST', '/api/vehicles', { id: 'V3', name: 'Van 3', driver: { name: 'Malee' } })
    expect(withDriver.body).toMatchObject({ driver: { name: 'Malee', phone: null } })

    const restarted = await startTestServer({ db: server.db })
    try {
      expect((await restarted.api('GET', '/api/vehicles/V1')).body).toMatchObject({ driver: { name: 'Somchai K.', phone: '+66 81 234 5678' } })
      expect((await restarted.api<{ items: Array<{ id: string, driver: unknown }> }>('GET', '/api/vehicles')).body.items.map((v) => [v.id, v.driver === null]))
        .toEqual([['V1', false], ['V3', false]])
      expect((await restarted.api('PUT', '/api/vehicles/V3/driver', { driver: null })).body).toMatchObject({ id: 'V3', driver: null })
    } finally {
      await restarted.close()
    }
  })

  it('refuses a parcel with a malformed EPC, without a destination country, or with a taken number or EPC', async () => {
    const destination = { city: 'Bangkok', country: 'TH' }
    await expectError('POST', '/api/parcels', { trackingNumber: 'V-1', epc: 'xyz', destination }, 400, 'FST_ERR_VALIDATION')
    await expectError('POST', '/api/parcels', { trackingNumber: 'V-1', destination: { city: 'Bangkok' } }, 400, 'FST_ERR_VALIDATION')
    await expectError('POST', '/api/parcels', { trackingNumber: 'V-1', destination: { city: 'Bangkok', country: 'Thailand' } }, 400, 'FST_ERR_VALIDATION')
    expect((await server.api('POST', '/api/parcels', { trackingNumber: 'V-1', epc: 'E2801160600002', destination })).status).toBe(201)
    await expectError('POST', '/api/parcels', { trackingNumber: 'V-1', destination }, 409, 'TS_ALREADY_EXISTS')
    // EPCs are stored upper case, so the same tag in lower case is the same tag
    await expectError('POST', '/api/parcels', { trackingNumber: 'V-2', epc: 'e2801160600002', destination }, 409, 'TS_ALREADY_EXISTS')
    const list = await server.api<{ items: Parcel[] }>('GET', '/api/parcels')
    expect(list.body.items.map((p) => [p.trackingNumber, p.epc])).toEqual([['V-1', 'E2801160600002']])
  })

  it('answers unknown routes and unknown ids with 404', async () => {
    expect((await server.api('GET', '/api/nothing-here')).status).toBe(404)
    expect((await server.api('POST', '/api/nothing-here', {})).status).toBe(404)
    expect((await server.api('DELETE', '/api/devices/trk-1')).status).toBe(404)
    expect((await anonymous(server, 'GET', '/no/such/page')).status).toBe(404)
    await expectError('GET', '/api/devices/ghost', undefined, 404, 'TS_NOT_FOUND')
    await expectError('GET', '/api/parcels/ghost', undefined, 404, 'TS_NOT_FOUND')
  })
})

describe('parcels', () => {
  let server: TestServer
  let port: string

  beforeAll(async () => {
    server = await startTestServer()
    port = new URL(server.httpUrl).port
    expect((await server.api('POST', '/api/stations', BANGKOK_HUB)).status).toBe(201)
  })
  afterAll(async () => { await server?.close() })

  it('answers a new parcel with 201 and an unguessable tracking link on this server', async () => {
    const before = Date.now()
    const created = await server.api<Parcel>('POST', '/api/parcels', {
      trackingNumber: 'P-NEW', epc: '3034257bf7194e40', destination: { city: 'Chiang Mai', country: 'TH' }
    })
    expect(created.status).toBe(201)
    const match = new RegExp(`^http://127\\.0\\.0\\.1:${port}/t/([A-Za-z0-9_-]+)$`).exec(created.body.trackingUrl)
    expect(match).not.toBeNull()
    expect(match?.[1]?.length).toBeGreaterThanOrEqual(22)
    expect(created.body).toMatchObject({
      trackingNumber: 'P-NEW',
      epc: '3034257BF7194E40',
      status: 'info_received',
      cashOnDelivery: null,
      destination: { name: null, address: null, city: 'Chiang Mai', postcode: null, country: 'TH', lat: null, lon: null }
    })
    expect(created.body.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    expect(Date.parse(created.body.createdAt)).toBeGreaterThanOrEqual(before)
    expect(created.body.statusAt).toBe(created.body.createdAt)
    const other = await createParcel(server, { trackingNumber: 'P-NEW-2' })
    expect(tokenOf(other.trackingUrl)).not.toBe(tokenOf(created.body.trackingUrl))
  })

  it('finds a parcel by id and by tracking number', async () => {
    const parcel = await createParcel(server, { trackingNumber: 'P-FIND' })
    expect(await server.api('GET', `/api/parcels/${parcel.id}`)).toEqual({ status: 200, body: parcel })
    expect(await server.api('GET', '/api/parcels/P-FIND')).toEqual({ status: 200, body: parcel })
  })

  it('records a milestone at a station, shows it in the timeline and pushes it to the buyer', async () => {
    const parcel = await createParcel(server, { trackingNumber: 'P-OFD' })
    const buyer = await FrameCollector.open<TrackFrame>(`${server.wsUrl}/ws/track/${tokenOf(parcel.trackingUrl)}`)
    try {
      await buyer.waitFor((frame) => frame.type === 'snapshot')
      const time = new Date(Date.parse(parcel.createdAt) + 1000).toISOString()
      const recorded = await server.api('POST', `/api/parcels/${parcel.id}/milestones`, { code: 'out_for_delivery', stationId: 'BKK-HUB', time, note: 'route 7' })
      expect(recorded).toEqual({ status: 201, body: { status: 'out_for_delivery', statusAt: time } })

      const timeline = await server.api<{ items: TimelineItem[] }>('GET', `/api/parcels/${parcel.id}/timeline`)
      expect(timeline.body.items.map((m) => m.code)).toEqual(['info_received', 'out_for_delivery'])
      expect(timeline.body.items[1]).toEqual({
        id: expect.stringMatching(/^\d+$/),
        code: 'out_for_delivery',
        time,
        source: 'api',
        deviceId: null,
        note: 'route 7',
        lat: BANGKOK_HUB.lat,
        lon: BANGKOK_HUB.lon,
        vehicleId: null,
        tag: 'OutForDelivery',
        subtag: 'OutForDelivery_001',
        detail: null,
        station: { id: 'BKK-HUB', name: 'Bangkok hub', city: 'Bangkok', country: 'TH', timezone: 'Asia/Bangkok' }
      })
      expect((await server.api<Parcel>('GET', `/api/parcels/${parcel.id}`)).body).toMatchObject({ status: 'out_for_delivery', statusAt: time })

      const frame = await buyer.waitFor((f) => f.type === 'milestones')
      expect(frame).toEqual({
        type: 'milestones',
        milestones: [{ code: 'out_for_delivery', label: 'Out for delivery', time, location: { city: 'Bangkok', country: 'TH', timezone: 'Asia/Bangkok' } }]
      })
    } finally {
      buyer.close()
    }
  })

  it('keeps an internal milestone in the ops timeline but away from the buyer', async () => {
    const parcel = await createParcel(server, { trackingNumber: 'P-SORT' })
    const token = tokenOf(parcel.trackingUrl)
    const buyer = await FrameCollector.open<TrackFrame>(`${server.wsUrl}/ws/track/${token}`)
    try {
      await buyer.waitFor((frame) => frame.type === 'snapshot')
      const sortedAt = new Date(Date.parse(parcel.createdAt) + 1000).toISOString()
      const departedAt = new Date(Date.parse(parcel.createdAt) + 2000).toISOString()
      expect((await server.api('POST', `/api/parcels/${parcel.id}/milestones`, { code: 'sorted', stationId: 'BKK-HUB', time: sortedAt })).status).toBe(201)
      // a public milestone after it: once its frame is in, any frame for "sorted" would have been too
      expect((await server.api('POST', `/api/parcels/${parcel.id}/milestones`, { code: 'departed_facility', stationId: 'BKK-HUB', time: departedAt })).status).toBe(201)
      await buyer.waitFor((f) => f.type === 'milestones' && f.milestones?.[0]?.code === 'departed_facility')
      const pushed = buyer.frames.filter((f) => f.type === 'milestones').flatMap((f) => f.milestones ?? []).map((m) => m.code)
      expect(pushed).toEqual(['departed_facility'])

      const timeline = await server.api<{ items: TimelineItem[] }>('GET', `/api/parcels/${parcel.id}/timeline`)
      expect(timeline.body.items.map((m) => [m.code, m.time])).toEqual([
        ['info_received', parcel.createdAt], ['sorted', sortedAt], ['departed_facility', departedAt]
      ])
      const response = await fetch(`${server.httpUrl}/api/track/${token}`)
      const tracking = await response.json() as { milestones: PublicMilestone[] }
      expect(tracking.milestones.map((m) => m.code)).toEqual(['info_received', 'departed_facility'])
      expect(JSON.stringify(tracking)).not.toContain('sorted')
    } finally {
      buyer.close()
    }
  })

  it('stores a repeated identical milestone once', async () => {
    const parcel = await createParcel(server, { trackingNumber: 'P-TWICE' })
    const body = { code: 'picked_up', time: new Date(Date.parse(parcel.createdAt) + 500).toISOString() }
    expect((await server.api('POST', `/api/parcels/${parcel.id}/milestones`, body)).status).toBe(201)
    expect((await server.api('POST', `/api/parcels/${parcel.id}/milestones`, body)).status).toBe(201)
    const timeline = await server.api<{ items: TimelineItem[] }>('GET', `/api/parcels/${parcel.id}/timeline`)
    expect(timeline.body.items.map((m) => [m.code, m.time])).toEqual([['info_received', parcel.createdAt], ['picked_up', body.time]])
  })

  it('refuses a milestone at an unknown station with 422 and records nothing', async () => {
    const parcel = await createParcel(server, { trackingNumber: 'P-NOWHERE' })
    const response = await server.api<ErrorBody>('POST', `/api/parcels/${parcel.id}/milestones`, { code: 'arrived_at_facility', stationId: 'NOWHERE' })
    expect({ status: response.status, code: response.body.code }).toEqual({ status: 422, code: 'TS_UNKNOWN_REFERENCE' })
    const timeline = await server.api<{ items: TimelineItem[] }>('GET', `/api/parcels/${parcel.id}/timeline`)
    expect(timeline.body.items.map((m) => m.code)).toEqual(['info_received'])
    expect((await server.api<Parcel>('GET', `/api/parcels/${parcel.id}`)).body.status).toBe('info_received')
  })

  it('answers a milestone for an unknown parcel with 404 TS_NOT_FOUND', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'NO-SUCH-NUMBER']) {
      const response = await server.api<ErrorBody>('POST', `/api/parcels/${id}/milestones`, { code: 'delivered' })
      expect({ status: response.status, code: response.body.code }).toEqual({ status: 404, code: 'TS_NOT_FOUND' })
    }
    const timeline = await server.api<ErrorBody>('GET', '/api/parcels/NO-SUCH-NUMBER/timeline')
    expect({ status: timeline.status, code: timeline.body.code }).toEqual({ status: 404, code: 'TS_NOT_FOUND' })
  })
})

describe('parcel list: newest first, paged with a cursor, filtered by status', () => {
  let server: TestServer
  const created: Parcel[] = []

  beforeAll(async () => {
    server = await startTestServer()
    for (let i = 1; i <= 5; i++) {
      created.push(await createParcel(server, { trackingNumber: `L-${i}` }))
      await sleep(5) // distinct creation times, so newest-first is the reverse of creation order
    }
  })
  afterAll(async () => { await server?.close() })

  it('pages through every parcel exactly once, newest first', async () => {
    const pages: string[][] = []
    let next: string | null = null
    do {
      const query: string = next === null ? '' : `&before=${encodeURIComponent(next)}`
      const page: { status: number, body: { items: Parcel[], next: string | null } } =
        await server.api<{ items: Parcel[], next: string | null }>('GET', `/api/parcels?limit=2${query}`)
      expect(page.status).toBe(200)
      pages.push(page.body.items.map((p) => p.trackingNumber))
      next = page.body.next
    } while (next !== null && pages.length < 10)
    expect(pages).toEqual([['L-5', 'L-4'], ['L-3', 'L-2'], ['L-1']])
  })

  it('lists each parcel as it is created', async () => {
    const list = await server.api<{ items: Parcel[], next: string | null }>('GET', '/api/parcels')
    expect(list.body).toEqual({ items: [...created].reverse(), next: null })
  })

  it('filters by status', async () => {
    const [, second] = created
    expect((await server.api('POST', `/api/parcels/${second?.id ?? ''}/milestones`, { code: 'out_for_delivery' })).status).toBe(201)
    const numbers = async (query: string): Promise<string[]> =>
      (await server.api<{ items: Parcel[] }>('GET', `/api/parcels?${query}`)).body.items.map((p) => p.trackingNumber)
    expect(await numbers('status=out_for_delivery')).toEqual(['L-2'])
    expect(await numbers('status=info_received')).toEqual(['L-5', 'L-4', 'L-3', 'L-1'])
    expect(await numbers('status=info_received&limit=2')).toEqual(['L-5', 'L-4'])
    expect(await numbers('status=delivered')).toEqual([])
    expect(await numbers('trackingNumber=L-3')).toEqual(['L-3'])
    expect((await server.api('GET', '/api/parcels?status=lost')).status).toBe(400)
  })

  it('refuses a malformed cursor with 422', async () => {
    const response = await server.api<ErrorBody>('GET', '/api/parcels?before=garbage')
    expect({ status: response.status, code: response.body.code }).toEqual({ status: 422, code: 'TS_UNKNOWN_REFERENCE' })
  })
})

describe('public tracking: what the buyer\'s link shows', () => {
  let server: TestServer
  let parcel: Parcel
  let token: string
  const EPC = 'E28011606000020A1B2C3D4E'
  const destination = {
    name: 'Somchai Jaidee', address: '99 Sukhumvit Soi 11', city: 'Bangkok', postcode: '10110', country: 'TH', lat: 13.7437, lon: 100.5565
  }
  let arrivedAt: string

  beforeAll(async () => {
    server = await startTestServer()
    expect((await server.api('POST', '/api/stations', BANGKOK_HUB)).status).toBe(201)
    parcel = await createParcel(server, { trackingNumber: 'PUB-1', epc: EPC, destination, cashOnDelivery: { amount: 450, currency: 'THB' } })
    token = tokenOf(parcel.trackingUrl)
    arrivedAt = new Date(Date.parse(parcel.createdAt) + 1000).toISOString()
    expect((await server.api('POST', `/api/parcels/${parcel.id}/milestones`, { code: 'arrived_at_facility', stationId: 'BKK-HUB', time: arrivedAt })).status).toBe(201)
  })
  afterAll(async () => { await server?.close() })

  it('answers an unknown token with 404 and a malformed one with 400', async () => {
    const unknown = await anonymous(server, 'GET', `/api/track/${'A'.repeat(22)}`)
    expect(unknown.status).toBe(404)
    expect((JSON.parse(unknown.text) as ErrorBody).code).toBe('TS_NOT_FOUND')
    expect((await anonymous(server, 'GET', '/api/track/short')).status).toBe(400)
  })

  it('shows status, city-level places and the amount to pay', async () => {
    const response = await fetch(`${server.httpUrl}/api/track/${token}`)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({
      trackingNumber: 'PUB-1',
      status: { code: 'arrived_at_facility', label: 'Arrived at facility', time: arrivedAt },
      destination: { city: 'Bangkok', country: 'TH' },
      cashOnDelivery: { amount: '450.00', currency: 'THB' },
      eta: null,
      destinationPoint: null,
      deliveredAt: null,
      van: null,
      milestones: [
        { code: 'info_received', label: 'Shipment information received', time: parcel.createdAt, location: null },
        { code: 'arrived_at_facility', label: 'Arrived at facility', time: arrivedAt, location: { city: 'Bangkok', country: 'TH', timezone: 'Asia/Bangkok' } }
      ]
    })
    expect(parcel.cashOnDelivery).toEqual({ amount: '450.00', currency: 'THB' })
  })

  it('gives away no id, EPC, street address, recipient name or coordinates', async () => {
    const text = await (await fetch(`${server.httpUrl}/api/track/${token}`)).text()
    for (const secret of [
      parcel.id, EPC, EPC.toLowerCase(), destination.name, destination.address, destination.postcode,
      String(destination.lat), String(destination.lon), String(BANGKOK_HUB.lat), String(BANGKOK_HUB.lon), 'BKK-HUB', 'Bangkok hub',
      '"lat"', '"lon"', '"id"', '"epc"', '"source"'
    ]) {
      expect(text).not.toContain(secret)
    }
  })

  it('shows no cash on delivery for a parcel without it', async () => {
    const plain = await createParcel(server, { trackingNumber: 'PUB-2' })
    const tracking = await (await fetch(`${server.httpUrl}/api/track/${tokenOf(plain.trackingUrl)}`)).json() as { cashOnDelivery: unknown }
    expect(tracking.cashOnDelivery).toBeNull()
  })

  it('closes a tracking socket for an unknown token with 4404', async () => {
    const socket = new WebSocket(`${server.wsUrl}/ws/track/${'A'.repeat(22)}`)
    const code = await new Promise<number>((resolve, reject) => {
      socket.once('close', (closeCode) => { resolve(closeCode) })
      socket.once('error', reject)
    })
    expect(code).toBe(4404)
  })
})

describe('devices API', () => {
  let server: TestServer
  let van: MqttClient | undefined
  const base = Date.now() - 60_000
  const fixes = [0, 1, 2].map((i) => ({ time: base + i * 1000, lat: 13.75 + i * 0.01, lon: 100.5 + i * 0.01, seq: i + 1 }))

  beforeAll(async () => {
    server = await startTestServer()
  })
  afterAll(async () => {
    await van?.endAsync()
    await server?.close()
  })

  interface Position { time: string, lat: number, lon: number, speed: number | null, heading: number | null, accuracy: number | null, battery: number | null, vehicleId: string | null, receivedAt: string }
  const positions = async (query: string): Promise<Position[]> => {
    const response = await server.api<{ items: Position[] }>('GET', `/api/devices/trk-1/positions${query}`)
    expect(response.status).toBe(200)
    return response.body.items
  }
  const iso = (ms: number): string => new Date(ms).toISOString()

  it('lists no unknown devices at start, then one that tried to connect', async () => {
    expect(await server.api('GET', '/api/devices/unknown')).toEqual({ status: 200, body: { items: [] } })
    expect((await refusedConnect(server.mqttUrl, { username: 'ghost-1', password: 'x' })).code).toBe(4)
    const unknown = await server.api<{ items: Array<Record<string, unknown>> }>('GET', '/api/devices/unknown')
    expect(unknown.body.items).toEqual([{ deviceId: 'ghost-1', attempts: 1, lastAttemptAt: expect.stringMatching(ISO_TIME), lastAddress: expect.stringMatching(/127\.0\.0\.1/) }])
  })

  it('returns stored fixes in a time range, oldest first, up to the limit', async () => {
    const { secret } = await server.registerDevice('trk-1')
    van = await connectDevice(server.mqttUrl, 'trk-1', secret)
    for (const fix of fixes) await publish(van, deviceTopic('trk-1', 'fix'), JSON.stringify(fix))

    const all = await positions(`?from=${iso(base - 1)}&to=${iso(base + 3000)}`)
    expect(all).toEqual(fixes.map((fix) => ({
      time: iso(fix.time),
      lat: fix.lat,
      lon: fix.lon,
      speed: null,
      heading: null,
      accuracy: null,
      battery: null,
      vehicleId: null,
      receivedAt: expect.stringMatching(ISO_TIME)
    })))
    const times = (items: Position[]): string[] => items.map((p) => p.time)
    expect(times(await positions(''))).toEqual(fixes.map((f) => iso(f.time)))
    expect(times(await positions(`?from=${iso(base - 1)}&limit=2`))).toEqual([iso(base), iso(base + 1000)])
    expect(times(await positions(`?from=${iso(base + 500)}`))).toEqual([iso(base + 1000), iso(base + 2000)])
    // `to` is exclusive
    expect(times(await positions(`?from=${iso(base)}&to=${iso(base + 2000)}`))).toEqual([iso(base), iso(base + 1000)])
    expect(times(await positions(`?from=${iso(base + 5000)}`))).toEqual([])
    expect((await server.api('GET', '/api/devices/trk-1/positions?limit=0')).status).toBe(400)
    expect((await server.api('GET', '/api/devices/ghost/positions')).status).toBe(404)
  })

  it('renames a device', async () => {
    const renamed = await server.api<Record<string, unknown>>('PATCH', '/api/devices/trk-1', { name: 'Van 7' })
    expect(renamed.status).toBe(200)
    expect(renamed.body).toMatchObject({ id: 'trk-1', kind: 'tracker', name: 'Van 7', disabled: false })
    expect((await server.api<Record<string, unknown>>('GET', '/api/devices/trk-1')).body.name).toBe('Van 7')
    expect((await server.api<Record<string, unknown>>('PATCH', '/api/devices/trk-1', { name: null })).body.name).toBeNull()
    expect((await server.api('PATCH', '/api/devices/ghost', { name: 'x' })).status).toBe(404)
    expect((await server.api('PATCH', '/api/devices/trk-1', { kind: 'reader' })).status).toBe(400)
  })

  it('serves no basemap style URL by default', async () => {
    expect(await anonymous(server, 'GET', '/ui-config.json')).toEqual({ status: 200, text: '{"basemapStyleUrl":null,"basemapTileUrl":null,"basemapAttribution":null}' })
  })

  it('serves the basemap style URL the server was configured with', async () => {
    const configured = await startTestServer({ env: { BASEMAP_STYLE_URL: 'https://tiles.example.com/style.json' } })
    try {
      const response = await fetch(`${configured.httpUrl}/ui-config.json`)
      expect(response.status).toBe(200)
      expect(await response.json()).toEqual({ basemapStyleUrl: 'https://tiles.example.com/style.json', basemapTileUrl: null, basemapAttribution: null })
    } finally {
      await configured.close()
    }
  })
})

describe('health and metrics', () => {
  let server: TestServer

  beforeAll(async () => { server = await startTestServer() })
  afterAll(async () => { await server?.close() })

  it('is alive', async () => {
    expect(await anonymous(server, 'GET', '/healthz')).toEqual({ status: 200, text: '{"status":"ok"}' })
  })

  it('is ready when the database and the broker are up', async () => {
    const { status, text } = await anonymous(server, 'GET', '/readyz')
    expect(status).toBe(200)
    expect(JSON.parse(text)).toEqual({ status: 'ready', database: 'up', broker: 'up' })
  })

  it('exposes Prometheus metrics, with the pipeline counters and process metrics', async () => {
    const response = await fetch(`${server.httpUrl}/metrics`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const text = await response.text()
    expect(text).toMatch(/^# TYPE trackstream_messages_total counter$/m)
    expect(text).toMatch(/^trackstream_messages_total 0$/m)
    expect(text).toMatch(/^trackstream_process_cpu_user_seconds_total \d/m)
    expect(text).toMatch(/^trackstream_process_cpu_seconds_total \d/m)
  })
})
