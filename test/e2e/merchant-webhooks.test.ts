import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../support/clients.js'
import { startTestServer, type TestServer } from '../support/server.js'

interface Event { type: string, parcel?: { trackingNumber: string } }

/** A receiver that keeps every event posted to it. */
async function receiver (): Promise<{ url: string, events: Event[], close: () => Promise<void> }> {
  const events: Event[] = []
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      events.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Event)
      response.writeHead(200).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/hook`, events, close: async () => { await new Promise((resolve) => server.close(resolve)) } }
}

describe('a merchant\'s webhooks hear of its own parcels only', () => {
  let server: TestServer
  let acmeHook: Awaited<ReturnType<typeof receiver>>
  let opsHook: Awaited<ReturnType<typeof receiver>>
  const keys: Record<'acme' | 'globex', Record<string, string>> = { acme: {}, globex: {} }

  const as = async (headers: Record<string, string>, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: Record<string, unknown>) =>
    await server.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) })

  beforeAll(async () => {
    server = await startTestServer({ env: { WEBHOOK_POLL_MS: '50' } })
    acmeHook = await receiver()
    opsHook = await receiver()
    for (const merchant of ['acme', 'globex'] as const) {
      expect((await server.api('POST', '/api/merchants', { id: merchant, name: merchant })).status).toBe(201)
      const { body } = await server.api<{ key: string }>('POST', '/api/keys', { name: `${merchant} erp`, merchantId: merchant, scopes: ['parcels:write', 'webhooks'] })
      keys[merchant] = { authorization: `Bearer ${body.key}` }
    }
  })
  afterAll(async () => {
    await server?.close()
    await acmeHook?.close()
    await opsHook?.close()
  })

  it('delivers a merchant\'s parcels to its subscription and every parcel to the operator\'s', async () => {
    const subscribed = await as(keys.acme, 'POST', '/api/webhooks', { url: acmeHook.url })
    expect(subscribed.statusCode, subscribed.body).toBe(201)
    expect(subscribed.json()).toMatchObject({ merchantId: 'acme' })
    expect((await server.api('POST', '/api/webhooks', { url: opsHook.url })).status).toBe(201)

    for (const [merchant, trackingNumber] of [['acme', 'ACME-1'], ['globex', 'GLX-1'], ['acme', 'ACME-2']] as const) {
      const created = await as(keys[merchant], 'POST', '/api/parcels', { trackingNumber, destination: { city: 'Bangkok', country: 'TH' } })
      expect(created.statusCode).toBe(201)
    }
    await eventually(async () => { expect(opsHook.events).toHaveLength(3) }, 10_000)
    await eventually(async () => { expect(acmeHook.events).toHaveLength(2) }, 10_000)
    expect(acmeHook.events.map((event) => event.parcel?.trackingNumber).sort()).toEqual(['ACME-1', 'ACME-2'])
  })

  it('hides one merchant\'s subscriptions from another: not listed, and 404 by id', async () => {
    const acmeList = (await as(keys.acme, 'GET', '/api/webhooks')).json<{ items: Array<{ id: string }> }>().items
    expect(acmeList).toHaveLength(1)
    const id = acmeList[0]?.id as string
    expect((await as(keys.globex, 'GET', '/api/webhooks')).json<{ items: unknown[] }>().items).toEqual([])
    for (const [method, url] of [['GET', `/api/webhooks/${id}/deliveries`], ['POST', `/api/webhooks/${id}/test`], ['DELETE', `/api/webhooks/${id}`]] as const) {
      expect((await as(keys.globex, method, url)).statusCode, `${method} ${url}`).toBe(404)
    }
    const deliveries = (await as(keys.acme, 'GET', `/api/webhooks/${id}/deliveries`)).json<{ items: Array<{ id: string }> }>().items
    expect((await as(keys.globex, 'POST', `/api/webhooks/deliveries/${deliveries[0]?.id ?? ''}/retry`)).statusCode).toBe(404)
    // the operator sees both
    expect((await server.api<{ items: unknown[] }>('GET', '/api/webhooks')).body.items).toHaveLength(2)
  })
})
