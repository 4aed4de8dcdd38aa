import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { startTestServer, TEST_API_KEY, type TestServer } from '../support/server.js'

/** What became of an upgrade: "open" once the first frame (the snapshot) came, or the HTTP status it was refused with. */
async function attempt (url: string, headers: Record<string, string>, origin?: string): Promise<'open' | number> {
  const socket = new WebSocket(url, { headers, ...(origin === undefined ? {} : { origin }) })
  try {
    return await new Promise((resolve, reject) => {
      socket.once('message', () => { resolve('open') })
      socket.once('unexpected-response', (_request, response) => { resolve(response.statusCode ?? 0) })
      socket.once('error', reject)
    })
  } finally {
    socket.terminate()
  }
}

/**
 * Cross-site WebSocket hijacking: a page on any site can open a WebSocket to trackstream, and the
 * browser sends the ops desk's session cookie with it. Only the Origin header tells them apart.
 */
describe('the Origin of a WebSocket opened with the session cookie', () => {
  let server: TestServer
  let cookie: string
  let live: string
  const PARTNER = 'https://ops.partner.example'

  beforeAll(async () => {
    server = await startTestServer({ env: { ALLOWED_ORIGINS: `${PARTNER}/` } })
    const response = await fetch(`${server.httpUrl}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey: TEST_API_KEY })
    })
    expect(response.status).toBe(200)
    cookie = (response.headers.getSetCookie().find((c) => c.startsWith('ts_session=')) ?? '').split(';')[0] ?? ''
    expect(cookie).toMatch(/^ts_session=./)
    live = `${server.wsUrl}/ws/live`
  })
  afterAll(async () => { await server?.close() })

  it('refuses a foreign origin (another port on the same host) with 403, before the upgrade', async () => {
    const { port } = new URL(server.httpUrl)
    const foreign = `http://127.0.0.1:${Number(port) === 65535 ? 1 : Number(port) + 1}`
    expect(await attempt(live, { cookie }, foreign)).toBe(403)
    expect(await attempt(live, { cookie }, 'https://evil.example')).toBe(403)
    // the same host over the other scheme is another origin too
    expect(await attempt(live, { cookie }, server.httpUrl.replace('http:', 'https:'))).toBe(403)
    expect(await attempt(live, { cookie }, 'null')).toBe(403)
  })

  it('refuses a session without any Origin: browsers always send one on a WebSocket', async () => {
    expect(await attempt(live, { cookie })).toBe(403)
  })

  it('opens for the server\'s own origin', async () => {
    expect(await attempt(live, { cookie }, server.httpUrl)).toBe('open')
  })

  it('opens for an origin in ALLOWED_ORIGINS', async () => {
    expect(await attempt(live, { cookie }, PARTNER)).toBe('open')
  })

  it('opens for a bearer key with no Origin, and with any Origin: a page cannot set that header', async () => {
    const bearer = { authorization: `Bearer ${TEST_API_KEY}` }
    expect(await attempt(live, bearer)).toBe('open')
    expect(await attempt(live, bearer, 'https://a-script.example')).toBe('open')
  })

  it('still wants credentials first: no cookie and no key is 401 whatever the Origin', async () => {
    expect(await attempt(live, {}, server.httpUrl)).toBe(401)
    expect(await attempt(live, {}, 'https://evil.example')).toBe(401)
  })

  it('leaves the buyers\' public feed alone', async () => {
    // /ws/track/<token> has no cookie to steal: an unknown token is refused as such, not for its Origin
    const track = await attempt(`${server.wsUrl}/ws/track/not-a-token`, {}, 'https://evil.example')
    expect(track).not.toBe(403)
  })
})
