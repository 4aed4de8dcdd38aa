import { createHmac } from 'node:crypto'
import type { LookupAddress } from 'node:dns'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { postWebhook, type Resolver, type WebhookRequest } from '../../../server/webhooks/send.js'

interface Receiver {
  port: number
  /** TCP connections accepted, whether or not a request followed. */
  connections: number
  requests: Array<{ method: string, url: string, headers: http.IncomingHttpHeaders, body: string }>
  close: () => Promise<void>
}

const open: Receiver[] = []

/** A real HTTP server on `host`, answering each request as `answer` says. */
async function receiver (answer: (response: http.ServerResponse) => void = (response) => { response.writeHead(200).end('ok') }, host = '127.0.0.1', port = 0): Promise<Receiver> {
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      found.requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') })
      answer(response)
    })
  })
  server.on('connection', () => { found.connections++ })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, resolve)
  })
  const found: Receiver = {
    port: (server.address() as AddressInfo).port,
    connections: 0,
    requests: [],
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    }
  }
  open.push(found)
  return found
}

afterEach(async () => {
  await Promise.all(open.splice(0).map(async (r) => { await r.close() }))
})

/** A resolver that answers every name with `addresses`, and counts how often it was asked. */
function resolving (...addresses: string[]): Resolver & { calls: string[] } {
  const calls: string[] = []
  const resolve = async (hostname: string): Promise<LookupAddress[]> => {
    calls.push(hostname)
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
  }
  return Object.assign(resolve, { calls })
}

const SECRET = 'whsec-test-0123456789'

function request (url: string, extra: Partial<WebhookRequest> = {}): WebhookRequest {
  return {
    url,
    secret: SECRET,
    eventId: '0b6f8a4e-3c2d-4e55-9a51-2f1f0b7c9d10',
    eventType: 'delivered',
    body: '{"id":"0b6f8a4e-3c2d-4e55-9a51-2f1f0b7c9d10","type":"delivered","note":"ส่งแล้ว"}',
    timestamp: 1_795_000_000,
    timeoutMs: 2000,
    signal: new AbortController().signal,
    ...extra
  }
}

describe('postWebhook: destinations', () => {
  it('refuses a name that resolves to 127.0.0.1 without connecting', async () => {
    const hooks = await receiver()
    const resolve = resolving('127.0.0.1')
    const response = await postWebhook(request(`http://erp.example.test:${hooks.port}/hook`, { resolve }))
    expect(response).toEqual({ ok: false, statusCode: null, error: 'forbidden destination: erp.example.test resolves to a loopback address (127.0.0.1)' })
    expect(resolve.calls).toEqual(['erp.example.test'])
    expect(hooks.connections).toBe(0)
  })

  it('refuses a name when any one of its addresses is forbidden', async () => {
    const hooks = await receiver()
    const response = await postWebhook(request(`http://erp.example.test:${hooks.port}/hook`, { resolve: resolving('93.184.216.34', '::ffff:10.1.2.3') }))
    expect(response.error).toBe('forbidden destination: erp.example.test resolves to a private address (10.1.2.3, written ::ffff:10.1.2.3)')
    expect(hooks.connections).toBe(0)
  })

  it('refuses literal and named loopback URLs before any lookup, in every spelling', async () => {
    const hooks = await receiver()
    const resolve = resolving('127.0.0.1')
    for (const host of ['127.0.0.1', '2130706433', '0x7f000001', '0177.0.0.1', '127.1', '[::ffff:127.0.0.1]', 'localhost', 'localhost.', 'hooks.localhost']) {
      const response = await postWebhook(request(`http://${host}:${hooks.port}/hook`, { resolve }))
      expect([host, response.ok, response.statusCode, response.error?.startsWith('forbidden destination: webhook URL points at a loopback address')]).toEqual([host, false, null, true])
    }
    expect(resolve.calls).toEqual([])
    expect(hooks.connections).toBe(0)
  })

  it('refuses a URL with credentials and a cloud metadata name even when private receivers are allowed', async () => {
    const hooks = await receiver()
    const resolve = resolving('127.0.0.1')
    expect((await postWebhook(request(`http://u:p@127.0.0.1:${hooks.port}/`, { allowPrivate: true, resolve }))).error)
      .toBe('forbidden destination: webhook URL must not hold a user name or password')
    expect((await postWebhook(request(`http://metadata.google.internal:${hooks.port}/`, { allowPrivate: true, resolve }))).error)
      .toBe('forbidden destination: webhook URL points at a cloud metadata service (metadata.google.internal)')
    expect((await postWebhook(request(`http://metadata.example.test:${hooks.port}/`, { allowPrivate: true, resolve: resolving('169.254.169.254') }))).error)
      .toBe('forbidden destination: metadata.example.test resolves to a cloud metadata service (169.254.169.254)')
    expect(hooks.connections).toBe(0)
  })
})

describe('postWebhook: with private receivers allowed', () => {
  it('POSTs the signed event to a local receiver', async () => {
    const hooks = await receiver()
    const sent = request(`http://erp.example.test:${hooks.port}/hooks/trackstream?merchant=7`, { allowPrivate: true, resolve: resolving('127.0.0.1') })
    expect(await postWebhook(sent)).toEqual({ ok: true, statusCode: 200, error: null })
    expect(hooks.requests).toHaveLength(1)
    const [received] = hooks.requests
    expect(received).toMatchObject({ method: 'POST', url: '/hooks/trackstream?merchant=7', body: sent.body })
    expect(received?.headers).toMatchObject({
      host: `erp.example.test:${hooks.port}`,
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(sent.body)),
      'user-agent': 'trackstream-webhooks/1',
      'x-trackstream-event-id': sent.eventId,
      'x-trackstream-event-type': 'delivered',
      'x-trackstream-timestamp': '1795000000',
      'x-trackstream-signature': `sha256=${createHmac('sha256', SECRET).update(`1795000000.${sent.body}`).digest('hex')}`
    })
  })

  it('reaches a literal address and a name resolved by the system', async () => {
    const hooks = await receiver()
    expect(await postWebhook(request(`http://127.0.0.1:${hooks.port}/`, { allowPrivate: true }))).toMatchObject({ ok: true, statusCode: 200 })
    expect(await postWebhook(request(`http://localhost:${hooks.port}/`, { allowPrivate: true }))).toMatchObject({ ok: true, statusCode: 200 })
    expect(hooks.requests).toHaveLength(2)
  })

  it('stores only the status of a refusal, never the answer it came with', async () => {
    const hooks = await receiver((response) => { response.writeHead(500, { 'content-type': 'text/plain' }).end('postgres: password=hunter2 at 10.0.0.5') })
    expect(await postWebhook(request(`http://127.0.0.1:${hooks.port}/`, { allowPrivate: true }))).toEqual({ ok: false, statusCode: 500, error: 'HTTP 500' })
  })

  it('does not follow a redirect', async () => {
    const target = await receiver()
    const hooks = await receiver((response) => { response.writeHead(302, { location: `http://127.0.0.1:${target.port}/elsewhere` }).end() })
    expect(await postWebhook(request(`http://127.0.0.1:${hooks.port}/`, { allowPrivate: true }))).toEqual({ ok: false, statusCode: 302, error: 'HTTP 302' })
    expect(target.connections).toBe(0)
  })

  it('connects to the address it checked, though the name resolves elsewhere a moment later', async () => {
    const checked = await receiver()
    // 127.0.0.2 is loopback too on Linux: the same port on another address
    const rebound = await receiver(undefined, '127.0.0.2', checked.port)
    let answers = 0
    const resolve: Resolver = async () => [{ address: answers++ === 0 ? '127.0.0.1' : '127.0.0.2', family: 4 }]
    expect(await postWebhook(request(`http://rebind.example.test:${checked.port}/`, { allowPrivate: true, resolve }))).toMatchObject({ ok: true })
    expect(answers).toBe(1)
    expect([checked.requests.length, rebound.connections]).toEqual([1, 0])
  })

  it('gives up after the timeout, and when the server shuts down', async () => {
    const silent = await receiver(() => {})
    expect(await postWebhook(request(`http://127.0.0.1:${silent.port}/`, { allowPrivate: true, timeoutMs: 200 })))
      .toEqual({ ok: false, statusCode: null, error: 'no answer within 200 ms' })
    const shutdown = new AbortController()
    const pending = postWebhook(request(`http://127.0.0.1:${silent.port}/`, { allowPrivate: true, signal: shutdown.signal }))
    setTimeout(() => { shutdown.abort() }, 50)
    expect(await pending).toEqual({ ok: false, statusCode: null, error: 'interrupted: the server was shutting down' })
    // a lookup that never answers is abandoned the same way
    const hanging: Resolver = async () => await new Promise<LookupAddress[]>(() => {})
    expect(await postWebhook(request('http://slow-dns.example.test/', { resolve: hanging, timeoutMs: 200 })))
      .toEqual({ ok: false, statusCode: null, error: 'no answer within 200 ms' })
  })

  it('reports a refused connection and a failed lookup', async () => {
    const gone = await receiver()
    await gone.close()
    const refused = await postWebhook(request(`http://127.0.0.1:${gone.port}/`, { allowPrivate: true }))
    expect(refused).toMatchObject({ ok: false, statusCode: null })
    expect(refused.error).toContain('ECONNREFUSED')
    const unknown: Resolver = async () => { throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.example.test'), { code: 'ENOTFOUND' }) }
    expect(await postWebhook(request('http://nowhere.example.test/', { resolve: unknown })))
      .toEqual({ ok: false, statusCode: null, error: 'getaddrinfo ENOTFOUND nowhere.example.test' })
  })
})
