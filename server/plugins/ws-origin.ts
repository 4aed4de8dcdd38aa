import createError from '@fastify/error'
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * onRequest hook for a WebSocket that a browser opens with the session cookie (after the
     * hook that checks the credentials). Browsers send cookies on a WebSocket upgrade whatever
     * page opens it, and CORS does not apply to WebSockets: without this, any site the ops desk
     * visits could open /ws/live as them. A request with `Authorization: Bearer` is not a
     * browser's (no page can set that header on a WebSocket) and passes.
     */
    requireOwnOrigin: onRequestAsyncHookHandler
  }
}

/** Kept beside the check it belongs to; the same shape as server/errors.ts's. */
export const ForeignOrigin = createError<[string]>(
  'TS_FOREIGN_ORIGIN',
  'a WebSocket opened with the session cookie must come from this server\'s pages or from ALLOWED_ORIGINS, not from %s',
  403
)

/** The origin of the request's own server, as a browser on its pages would send it. */
export function ownOrigin (request: FastifyRequest): string | undefined {
  return normalized(`${request.protocol}://${request.host}`)
}

function normalized (origin: string): string | undefined {
  try {
    const url = new URL(origin)
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined
  } catch {
    return undefined // "null" (a sandboxed frame, a file), or anything else unreadable
  }
}

export default fp<{ allowedOrigins: string[] }>(async (app, { allowedOrigins }) => {
  const allowed = new Set(allowedOrigins)
  app.decorate('requireOwnOrigin', async (request: FastifyRequest) => {
    if (/^Bearer\s/i.test(request.headers.authorization ?? '')) return
    const sent = request.headers.origin
    const origin = sent === undefined ? undefined : normalized(sent)
    if (origin !== undefined && (allowed.has(origin) || origin === ownOrigin(request))) return
    throw new ForeignOrigin(sent === undefined ? 'a request without Origin' : JSON.stringify(sent.slice(0, 200)))
  })
}, { name: 'trackstream-ws-origin' })
