import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import http from 'node:http'
import https from 'node:https'
import type { LookupFunction } from 'node:net'
import ipaddr from 'ipaddr.js'
import { checkDestination, forbiddenAddress } from './destination.js'
import { sign } from './sign.js'

/** A name's addresses, as node:dns `lookup(name, { all: true })` gives them. */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>

export interface WebhookRequest {
  url: string
  secret: string
  eventId: string
  eventType: string
  body: string
  /** Unix seconds: sent as X-Trackstream-Timestamp and signed with the body. */
  timestamp: number
  timeoutMs: number
  /** Aborts the request when the server shuts down. */
  signal: AbortSignal
  /** WEBHOOK_ALLOW_PRIVATE: loopback and private receivers are allowed (see destination.ts). */
  allowPrivate?: boolean
  /** Resolves the receiver's host name; node:dns lookup unless a test passes its own. */
  resolve?: Resolver
}

export interface WebhookResponse {
  ok: boolean
  /** The receiver's HTTP status; null when there was no answer. */
  statusCode: number | null
  /** Why it did not succeed; null when it did. Never any of the receiver's answer (issue 14). */
  error: string | null
}

const systemResolver: Resolver = async (hostname) => await new Promise((resolve, reject) => {
  dnsLookup(hostname, { all: true }, (error, addresses) => { if (error === null) resolve(addresses); else reject(error) })
})

/**
 * POSTs one event. Never throws: every way it can go wrong becomes a WebhookResponse.
 *
 * The receiver's host is resolved here, every address it resolves to is checked (destination.ts),
 * and the socket is opened to those checked addresses only, through a lookup that answers with them:
 * a name that resolves to a public address for the check and to 127.0.0.1 a moment later (DNS
 * rebinding) still reaches the checked one. A refused destination is never connected to.
 */
export async function postWebhook (request: WebhookRequest): Promise<WebhookResponse> {
  const timeout = AbortSignal.timeout(request.timeoutMs)
  const signal = AbortSignal.any([timeout, request.signal])
  const options = { allowPrivate: request.allowPrivate === true }
  try {
    const destination = checkDestination(request.url, options)
    if (!destination.allowed) return forbidden(destination.reason)
    const { url, host } = destination
    const addresses = ipaddr.isValid(host)
      ? [{ address: host, family: ipaddr.parse(host).kind() === 'ipv4' ? 4 : 6 }]
      : await untilAborted((request.resolve ?? systemResolver)(host), signal)
    if (addresses.length === 0) return { ok: false, statusCode: null, error: `${host} resolves to no address` }
    for (const { address } of addresses) {
      const why = forbiddenAddress(address, options)
      if (why !== undefined) return forbidden(`${host} resolves to ${why}`)
    }
    const statusCode = await post(url, host, addresses, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(request.body)),
      'user-agent': 'trackstream-webhooks/1',
      'x-trackstream-event-id': request.eventId,
      'x-trackstream-event-type': request.eventType,
      'x-trackstream-timestamp': String(request.timestamp),
      'x-trackstream-signature': sign(request.secret, request.timestamp, request.body)
    }, request.body, signal)
    // a redirect is an answer like any other non-2xx: following it would post the event elsewhere
    if (statusCode >= 200 && statusCode < 300) return { ok: true, statusCode, error: null }
    // the status only: the answer's text could be an internal service's, read back through the log
    return { ok: false, statusCode, error: `HTTP ${statusCode}` }
  } catch (error) {
    if (timeout.aborted) return { ok: false, statusCode: null, error: `no answer within ${request.timeoutMs} ms` }
    if (request.signal.aborted) return { ok: false, statusCode: null, error: 'interrupted: the server was shutting down' }
    return { ok: false, statusCode: null, error: describe(error) }
  }
}

function forbidden (reason: string): WebhookResponse {
  return { ok: false, statusCode: null, error: `forbidden destination: ${reason}` }
}

/** One POST to `url`, connecting only to `addresses`; settles with the status once the headers are in. */
async function post (url: URL, host: string, addresses: LookupAddress[], headers: Record<string, string>, body: string, signal: AbortSignal): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http
    const outgoing = client.request({
      method: 'POST',
      protocol: url.protocol,
      // the name, not the address: it is the Host header and the TLS server name (SNI, certificate check)
      host,
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      headers,
      lookup: pinnedLookup(addresses),
      // a fresh connection each time: a pooled one could outlive the check that allowed it
      agent: false,
      signal
    }, (response) => {
      response.on('error', () => {})
      // the body is never read: nothing of it is kept, and a receiver cannot make us wait on it
      response.destroy()
      resolve(response.statusCode ?? 0)
    })
    outgoing.on('error', reject)
    outgoing.end(body)
  })
}

/** A lookup that answers with the addresses already checked, and never asks DNS again. */
function pinnedLookup (addresses: LookupAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family ?? 0
    const candidates = family === 0 ? addresses : addresses.filter((address) => address.family === family)
    const first = candidates[0]
    if (first === undefined) {
      callback(Object.assign(new Error(`no IPv${family} address among the checked ones`), { code: 'ENOTFOUND' }), '', undefined)
    } else if (options.all === true) {
      callback(null, candidates)
    } else {
      callback(null, first.address, first.family)
    }
  }
}

/** DNS cannot be cancelled, but the delivery need not wait for it past its timeout or shutdown. */
async function untilAborted<T> (work: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted()
  return await new Promise<T>((resolve, reject) => {
    const onAbort = (): void => { reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(resolve, reject).finally(() => { signal.removeEventListener('abort', onAbort) })
  })
}

/** "connect ECONNREFUSED 127.0.0.1:9", a TLS error, a DNS failure, with its code when the message lacks it. */
function describe (error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' && !error.message.includes(code) ? `${code}: ${error.message}` : error.message
}
