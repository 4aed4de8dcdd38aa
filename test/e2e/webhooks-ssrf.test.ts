import { randomUUID } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { insertSubscription } from '../../server/db/queries/webhook-subscriptions.js'
import { eventually } from '../support/clients.js'
import { startTestServer, type TestServer } from '../support/server.js'

interface ErrorBody { code: string, message: string }
interface Delivery { status: 'pending' | 'delivered' | 'failed', attempts: number, lastStatusCode: number | null, lastError: string | null }

/** [URL, the reason the API must give]: issue 14's list, in the spellings an attacker would try. */
const FORBIDDEN: Array<[string, string]> = [
  ['http://127.0.0.1:5432/', 'webhook URL points at a loopback address (127.0.0.1)'],
  ['http://2130706433/', 'webhook URL points at a loopback address (127.0.0.1)'],
  ['http://0x7f000001/', 'webhook URL points at a loopback address (127.0.0.1)'],
  ['http://0177.0.0.1/', 'webhook URL points at a loopback address (127.0.0.1)'],
  ['http://127.1/', 'webhook URL points at a loopback address (127.0.0.1)'],
  ['http://127.0.0.1./', 'webhook URL points at a loopback address (127.0.0.1)'],
  ['http://localhost:8080/', 'webhook URL points at a loopback address (localhost)'],
  ['http://admin.localhost/', 'webhook URL points at a loopback address (admin.localhost)'],
  ['http://[::1]/', 'webhook URL points at a loopback address (::1)'],
  ['http://[::ffff:127.0.0.1]/', 'webhook URL points at a loopback address (127.0.0.1, written ::ffff:7f00:1)'],
  ['http://[::ffff:7f00:1]/', 'webhook URL points at a loopback address (127.0.0.1, written ::ffff:7f00:1)'],
  ['http://[::127.0.0.1]/', 'webhook URL points at an IPv4-compatible address (::7f00:1) embedding a loopback address (127.0.0.1)'],
  ['http://[64:ff9b::7f00:1]/', 'webhook URL points at a NAT64 address (64:ff9b::7f00:1) embedding a loopback address (127.0.0.1)'],
  ['http://0/', 'webhook URL points at an unspecified address (0.0.0.0)'],
  ['http://0.0.0.0/', 'webhook URL points at an unspecified address (0.0.0.0)'],
  ['http://[::]/', 'webhook URL points at an unspecified address (::)'],
  ['http://10.0.0.1/', 'webhook URL points at a private address (10.0.0.1)'],
  ['http://172.16.5.4/', 'webhook URL points at a private address (172.16.5.4)'],
  ['http://192.168.0.10/', 'webhook URL points at a private address (192.168.0.10)'],
  ['http://[fd12:3456::1]/', 'webhook URL points at a unique local (private) address (fd12:3456::1)'],
  ['http://169.254.1.1/', 'webhook URL points at a link-local address (169.254.1.1)'],
  ['http://[fe80::1]/', 'webhook URL points at a link-local address (fe80::1)'],
  ['http://169.254.169.254/latest/meta-data/', 'webhook URL points at a cloud metadata service (169.254.169.254)'],
  ['http://[fd00:ec2::254]/', 'webhook URL points at a cloud metadata service (fd00:ec2::254)'],
  ['http://metadata.google.internal/computeMetadata/v1/', 'webhook URL points at a cloud metadata service (metadata.google.internal)'],
  ['http://100.64.0.1/', 'webhook URL points at a carrier-grade NAT address (100.64.0.1)'],
  ['http://224.0.0.251/', 'webhook URL points at a multicast address (224.0.0.251)'],
  ['http://255.255.255.255/', 'webhook URL points at a broadcast address (255.255.255.255)'],
  ['http://240.0.0.1/', 'webhook URL points at a reserved address (240.0.0.1)'],
  ['https://user:pass@erp.example.com/hook', 'webhook URL must not hold a user name or password']
]

/** A receiver on 127.0.0.1 that counts connections: none may ever reach it here. */
async function startCountingReceiver (): Promise<{ url: string, connections: () => number, close: () => Promise<void> }> {
  let connections = 0
  const server = http.createServer((_request, response) => { response.writeHead(200).end('ok') })
  server.on('connection', () => { connections++ })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    connections: () => connections,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    }
  }
}

describe('webhook destinations inside the network (WEBHOOK_ALLOW_PRIVATE=false)', () => {
  let server: TestServer
  let receiver: Awaited<ReturnType<typeof startCountingReceiver>>

  beforeAll(async () => {
    server = await startTestServer({ env: { WEBHOOK_ALLOW_PRIVATE: 'false', WEBHOOK_POLL_MS: '50', WEBHOOK_RETRY_BASE_MS: '2', WEBHOOK_TIMEOUT_MS: '2000' } })
    receiver = await startCountingReceiver()
  })
  afterAll(async () => {
    await server?.close()
    await receiver?.close()
  })

  it.each(FORBIDDEN)('refuses to subscribe %s with 400 and the reason', async (url, reason) => {
    const refused = await server.api<ErrorBody>('POST', '/api/webhooks', { url })
    expect([refused.status, refused.body.code, refused.body.message]).toEqual([400, 'TS_FORBIDDEN_DESTINATION', reason])
  })

  it('stores none of them, and still takes public receivers', async () => {
    for (const url of ['https://erp.example.com/hooks/trackstream', 'https://93.184.216.34/hook', 'https://[2606:4700::1111]/hook']) {
      const created = await server.api<{ url: string }>('POST', '/api/webhooks', { url, enabled: false })
      expect([url, created.status]).toEqual([url, 201])
    }
    const listed = await server.api<{ items: Array<{ url: string }> }>('GET', '/api/webhooks')
    expect(listed.body.items.map((s) => s.url)).toEqual(['https://erp.example.com/hooks/trackstream', 'https://93.184.216.34/hook', 'https://[2606:4700::1111]/hook'])
  })

  it('refuses a ping to, and never connects to, a subscription stored before the check', async () => {
    // as a database from before issue 14, or one written while WEBHOOK_ALLOW_PRIVATE was on, holds it
    const stored = await insertSubscription(server.app.db.sql, {
      id: randomUUID(), url: receiver.url, secret: 'whsec-test-0123456789', merchantId: null, events: ['*'], description: null, enabled: true, createdAt: new Date()
    })
    const ping = await server.api<ErrorBody>('POST', `/api/webhooks/${stored.id}/test`)
    expect([ping.status, ping.body.code, ping.body.message]).toEqual([400, 'TS_FORBIDDEN_DESTINATION', 'webhook URL points at a loopback address (127.0.0.1)'])

    // a milestone's event is a failed delivery, with the reason in the log
    const parcel = await server.api<{ id: string }>('POST', '/api/parcels', { trackingNumber: 'SSRF-1', destination: { city: 'Bangkok', country: 'TH' } })
    expect(parcel.status).toBe(201)
    expect((await server.api('POST', `/api/parcels/${parcel.body.id}/milestones`, { code: 'picked_up', time: new Date(Date.now() - 60_000).toISOString() })).status).toBe(201)
    const [delivery] = await eventually(async () => {
      const log = await server.api<{ items: Delivery[] }>('GET', `/api/webhooks/${stored.id}/deliveries`)
      expect(log.body.items.length).toBeGreaterThan(0)
      expect(log.body.items.every((d) => d.status === 'failed')).toBe(true)
      return log.body.items
    }, 15_000)
    expect(delivery).toMatchObject({ lastStatusCode: null, lastError: 'forbidden destination: webhook URL points at a loopback address (127.0.0.1)' })
    expect(receiver.connections()).toBe(0)
  })
})
