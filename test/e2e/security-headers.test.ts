import { readdir, readFile } from 'node:fs/promises'
import https from 'node:https'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { DASHBOARD_DIST } from '../../server/routes/dashboard.js'
import { createTestDatabase } from '../support/database.js'
import { freePort, startServerProcess } from '../support/processes.js'
import { startTestServer, TEST_API_KEY, type TestServer } from '../support/server.js'
import { makeTestCertificate, opensslUnavailable, type TestCertificate } from '../support/tls.js'

/** A Content-Security-Policy header as directive → its sources. */
function policy (header: string | null): Map<string, string[]> {
  expect(header).not.toBeNull()
  return new Map((header ?? '').split(';').map((part) => part.trim()).filter((part) => part !== '').map((part) => {
    const [name = '', ...sources] = part.split(/\s+/)
    return [name, sources]
  }))
}

const BEARER = { authorization: `Bearer ${TEST_API_KEY}` }

/** Every answer, page or not, carries these. */
function expectBaseHeaders (headers: Headers | Record<string, string | string[] | undefined>): void {
  const get = (name: string): string | null => headers instanceof Headers ? headers.get(name) : (headers[name] as string | undefined) ?? null
  expect(get('x-content-type-options')).toBe('nosniff')
  expect(get('referrer-policy')).toBe('no-referrer')
  expect(get('x-frame-options')).toBe('DENY')
  expect(policy(get('content-security-policy')).get('frame-ancestors')).toEqual(["'none'"])
}

const login = async (url: string, headers: Record<string, string> = {}): Promise<Response> =>
  await fetch(`${url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ apiKey: TEST_API_KEY })
  })

describe('security headers over plain HTTP', () => {
  let server: TestServer
  const STYLE = 'https://maps.example.com/styles/streets/style.json'

  beforeAll(async () => {
    server = await startTestServer({ env: { BASEMAP_STYLE_URL: STYLE, CSP_EXTRA_ORIGINS: 'https://fonts.example.net, https://*.sprites.example.org' } })
  })
  afterAll(async () => { await server?.close() })

  it('are on the ops page, the buyer\'s page, API JSON, the docs, errors and the bundles, with no HSTS over plain HTTP', async () => {
    for (const [route, status] of [['/', 200], ['/t/some-token', 200], ['/api/vehicles', 200], ['/docs', 200], ['/docs/json', 200], ['/ops.js', 200], ['/healthz', 200], ['/no/such/page', 404], ['/api/devices', 401]] as const) {
      const response = await fetch(`${server.httpUrl}${route}`, { headers: route === '/api/devices' ? {} : BEARER })
      expect(response.status, route).toBe(status)
      expectBaseHeaders(response.headers)
      expect(response.headers.get('strict-transport-security'), route).toBeNull()
    }
  })

  it('give the pages a policy the map works under, and nothing inline but their own style blocks', async () => {
    const { port } = new URL(server.httpUrl)
    for (const route of ['/', '/t/some-token']) {
      const csp = policy((await fetch(`${server.httpUrl}${route}`)).headers.get('content-security-policy'))
      expect(csp.get('default-src')).toEqual(["'self'"])
      expect(csp.get('script-src')).toEqual(["'self'"])
      expect(csp.get('script-src-attr')).toEqual(["'none'"])
      expect(csp.get('object-src')).toEqual(["'none'"])
      // MapLibre: its worker (from here, or wrapped in a blob:), decoded images, the basemap's origin
      expect(csp.get('worker-src')).toEqual(["'self'", 'blob:'])
      expect(csp.get('child-src')).toEqual(["'self'", 'blob:'])
      expect(csp.get('img-src')).toEqual(["'self'", 'data:', 'blob:', 'https://maps.example.com', 'https://fonts.example.net', 'https://*.sprites.example.org'])
      expect(csp.get('connect-src')).toEqual(["'self'", `ws://127.0.0.1:${port}`, `wss://127.0.0.1:${port}`, 'https://maps.example.com', 'https://fonts.example.net', 'https://*.sprites.example.org'])
      // helmet's default would upgrade a plain-HTTP page's every request to HTTPS
      expect(csp.has('upgrade-insecure-requests')).toBe(false)
      expect([...csp.values()].flat()).not.toContain("'unsafe-inline'")
      expect([...csp.values()].flat()).not.toContain("'unsafe-eval'")
    }
    // the pages' <style> blocks, by hash, and no <script> without src
    const csp = policy((await fetch(`${server.httpUrl}/`)).headers.get('content-security-policy'))
    const pages = (await readdir(DASHBOARD_DIST)).filter((file) => file.endsWith('.html'))
    let blocks = 0
    for (const page of pages) {
      const html = await readFile(path.join(DASHBOARD_DIST, page), 'utf8')
      blocks += [...html.matchAll(/<style[\s>]/g)].length
      expect([...html.matchAll(/<script(?![^>]*\ssrc=)[^>]*>/g)].map((m) => m[0]), page).toEqual([])
    }
    const styles = csp.get('style-src') ?? []
    expect(styles[0]).toBe("'self'")
    expect(styles.slice(1)).toHaveLength(blocks)
    for (const hash of styles.slice(1)) expect(hash).toMatch(/^'sha256-[A-Za-z0-9+/]+=*'$/)
  })

  it('give Swagger UI (/docs) its own looser policy, and only there', async () => {
    const docs = await fetch(`${server.httpUrl}/docs`)
    expect(await docs.text()).toContain('swagger-ui')
    const csp = policy(docs.headers.get('content-security-policy'))
    expect(csp.get('style-src')).toEqual(["'self'", "'unsafe-inline'"])
    expect(csp.get('script-src')).toEqual(["'self'"])
    expect(csp.get('frame-ancestors')).toEqual(["'none'"])
    // one policy, Swagger's, not helmet's joined to it (a browser would enforce both)
    expect(docs.headers.get('content-security-policy')).not.toContain(',')
    const page = policy((await fetch(`${server.httpUrl}/`)).headers.get('content-security-policy'))
    expect(page.get('style-src')).not.toContain("'unsafe-inline'")
  })

  it('send a session cookie without Secure, and no HSTS, when the client says X-Forwarded-Proto but TRUST_PROXY is unset', async () => {
    const response = await login(server.httpUrl, { 'x-forwarded-proto': 'https' })
    expect(response.status).toBe(200)
    const cookie = response.headers.getSetCookie().find((c) => c.startsWith('ts_session=')) ?? ''
    expect(cookie).toMatch(/HttpOnly/i)
    expect(cookie).not.toMatch(/;\s*Secure/i)
    expect(response.headers.get('strict-transport-security')).toBeNull()
  })
})

describe('behind a trusted proxy (TRUST_PROXY)', () => {
  let trusting: TestServer
  let elsewhere: TestServer

  beforeAll(async () => {
    trusting = await startTestServer({ env: { TRUST_PROXY: '127.0.0.1' } })
    // a proxy somewhere else: this test's client is not it
    elsewhere = await startTestServer({ env: { TRUST_PROXY: '10.0.0.0/8' } })
  })
  afterAll(async () => {
    await trusting?.close()
    await elsewhere?.close()
  })

  it('takes X-Forwarded-Proto: https from the proxy: a Secure session cookie, and HSTS', async () => {
    const response = await login(trusting.httpUrl, { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9' })
    expect(response.status).toBe(200)
    const cookie = response.headers.getSetCookie().find((c) => c.startsWith('ts_session=')) ?? ''
    expect(cookie).toMatch(/;\s*Secure/i)
    expect(response.headers.get('strict-transport-security')).toBe('max-age=31536000')
    expectBaseHeaders(response.headers)
  })

  it('still sends no Secure cookie when the proxy says the client came over plain HTTP', async () => {
    const response = await login(trusting.httpUrl, { 'x-forwarded-proto': 'http' })
    expect(response.headers.getSetCookie().find((c) => c.startsWith('ts_session='))).not.toMatch(/;\s*Secure/i)
    expect(response.headers.get('strict-transport-security')).toBeNull()
  })

  it('ignores X-Forwarded-Proto from a peer that is not a listed proxy', async () => {
    const response = await login(elsewhere.httpUrl, { 'x-forwarded-proto': 'https' })
    expect(response.status).toBe(200)
    expect(response.headers.getSetCookie().find((c) => c.startsWith('ts_session='))).not.toMatch(/;\s*Secure/i)
    expect(response.headers.get('strict-transport-security')).toBeNull()
  })
})

const noOpenssl = opensslUnavailable()
if (noOpenssl !== undefined) console.warn(`HTTPS tests skipped: ${noOpenssl}`)

describe.skipIf(noOpenssl !== undefined)('HTTPS (HTTP_TLS=true)', () => {
  let server: TestServer
  let certificate: TestCertificate

  const get = async (url: string, headers: Record<string, string> = {}): Promise<{ status: number, headers: Record<string, string | string[] | undefined>, body: string }> =>
    await new Promise((resolve, reject) => {
      https.get(url, { ca: certificate.ca, headers }, (response) => {
        let body = ''
        response.setEncoding('utf8')
        response.on('data', (chunk: string) => { body += chunk })
        response.on('end', () => { resolve({ status: response.statusCode ?? 0, headers: response.headers, body }) })
      }).on('error', reject)
    })

  beforeAll(async () => {
    certificate = await makeTestCertificate()
    server = await startTestServer({ env: { HTTP_TLS: 'true', TLS_CERT_FILE: certificate.certFile, TLS_KEY_FILE: certificate.keyFile } })
  })
  afterAll(async () => { await server?.close() })

  it('serves the pages and the API over HTTPS with the configured certificate, with HSTS', async () => {
    expect(server.httpUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    const page = await get(`${server.httpUrl}/`)
    expect(page.status).toBe(200)
    expect(page.body).toContain('/ops.js')
    expect(page.headers['strict-transport-security']).toBe('max-age=31536000')
    expectBaseHeaders(page.headers)
    const api = await get(`${server.httpUrl}/api/vehicles`, BEARER)
    expect(api.status).toBe(200)
    expect(api.headers['strict-transport-security']).toBe('max-age=31536000')
    // a client that does not trust the certificate does not get an answer
    await expect(fetch(`${server.httpUrl}/healthz`)).rejects.toThrow()
  })

  it('starts from main.ts over HTTPS, and says https and wss in its startup lines', async () => {
    const db = await createTestDatabase()
    const port = await freePort()
    const child = startServerProcess({
      DATABASE_URL: db.url, HOST: '127.0.0.1', HTTP_PORT: String(port), MQTT_PORT: String(await freePort()), MQTT_TLS_PORT: String(await freePort()),
      API_KEY: TEST_API_KEY, LOG_FORMAT: 'pretty', HTTP_TLS: 'true', TLS_CERT_FILE: certificate.certFile, TLS_KEY_FILE: certificate.keyFile
    })
    try {
      await child.waitForOutput(/trackstream is running/)
      expect(child.output).toContain(`dashboard   https://127.0.0.1:${port}/   API docs https://127.0.0.1:${port}/docs`)
      expect(child.output).toContain(`and wss://127.0.0.1:${port}/mqtt`)
      const page = await get(`https://127.0.0.1:${port}/healthz`)
      expect(page.status).toBe(200)
      expect(page.headers['strict-transport-security']).toBe('max-age=31536000')
    } finally {
      child.signal('SIGKILL')
      await child.exited
      await db.drop()
    }
  })

  it('serves the live feed over WSS', async () => {
    expect(server.wsUrl).toMatch(/^wss:/)
    const socket = new WebSocket(`${server.wsUrl}/ws/live`, { ca: certificate.ca, headers: BEARER })
    const frame = await new Promise<{ type: string }>((resolve, reject) => {
      socket.once('message', (data: Buffer) => { resolve(JSON.parse(data.toString()) as { type: string }) })
      socket.once('error', reject)
      socket.once('unexpected-response', (_request, response) => { reject(new Error(`HTTP ${response.statusCode}`)) })
    })
    expect(frame.type).toBe('snapshot')
    socket.close()
  })
})
