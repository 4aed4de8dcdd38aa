import { sign } from './sign.js'

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
}

export interface WebhookResponse {
  ok: boolean
  /** The receiver's HTTP status; null when there was no answer. */
  statusCode: number | null
  /** Why it did not succeed; null when it did. */
  error: string | null
}

/** Kept from a refusing receiver's answer, for the delivery log. */
const ERROR_BODY_BYTES = 300

/** POSTs one event. Never throws: every way it can go wrong becomes a WebhookResponse. */
export async function postWebhook (request: WebhookRequest): Promise<WebhookResponse> {
  const timeout = AbortSignal.timeout(request.timeoutMs)
  try {
    const response = await fetch(request.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'trackstream-webhooks/1',
        'x-trackstream-event-id': request.eventId,
        'x-trackstream-event-type': request.eventType,
        'x-trackstream-timestamp': String(request.timestamp),
        'x-trackstream-signature': sign(request.secret, request.timestamp, request.body)
      },
      body: request.body,
      // a redirect is an answer like any other non-2xx; following it would post the event elsewhere
      redirect: 'manual',
      signal: AbortSignal.any([timeout, request.signal])
    })
    if (response.status >= 200 && response.status < 300) {
      await response.body?.cancel().catch(() => {})
      return { ok: true, statusCode: response.status, error: null }
    }
    const said = await readSome(response, ERROR_BODY_BYTES)
    return { ok: false, statusCode: response.status, error: `HTTP ${response.status}${said === '' ? '' : `: ${said}`}` }
  } catch (error) {
    if (timeout.aborted) return { ok: false, statusCode: null, error: `no answer within ${request.timeoutMs} ms` }
    if (request.signal.aborted) return { ok: false, statusCode: null, error: 'interrupted: the server was shutting down' }
    return { ok: false, statusCode: null, error: describe(error) }
  }
}

/** Up to `max` bytes of a response body, as text; the rest is discarded. */
async function readSome (response: Response, max: number): Promise<string> {
  const reader = response.body?.getReader()
  if (reader === undefined) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    while (size < max) {
      const { done, value } = await reader.read()
      if (done) break
      chunks.push(value)
      size += value.byteLength
    }
  } catch {
    // what arrived is enough
  } finally {
    await reader.cancel().catch(() => {})
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8').trim()
}

/** fetch() says "fetch failed"; the reason (ECONNREFUSED, a TLS error, ...) is in its cause. */
function describe (error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const cause = error.cause
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code
    return typeof code === 'string' ? `${code}: ${cause.message}` : cause.message
  }
  return error.message
}
