import cookie from '@fastify/cookie'
import rateLimit from '@fastify/rate-limit'
import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { sameSecret } from '../auth/api-key.js'
import { INSTALLATION, keyPrincipal, userPrincipal, type Principal } from '../auth/permissions.js'
import { parseApiKey, sameBytes, sha256 } from '../auth/tokens.js'
import type { AccessConfig } from '../config.js'
import { selectUsableApiKey, touchApiKey } from '../db/queries/api-keys.js'
import { useSession } from '../db/queries/sessions.js'
import { Errors } from '../errors.js'
import { DOCS_ROUTE } from './route-access.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is asking, once the access check has let them in; null on public routes. */
    principal: Principal | null
    /** True when the credential came in the session cookie (so CSRF and Origin rules apply). */
    viaCookie: boolean
  }
}

export const SESSION_COOKIE = 'ts_session'
/** Methods that change nothing: no CSRF check, no audit entry for them as changes. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS'])
const LAST_USED_RESOLUTION_MS = 60_000


export interface AuthOptions {
  apiKey: string
  access: AccessConfig
}

/**
 * One door for every route: the route's declared access is checked against the installation key,
 * an API key (ts_<id>_<secret>) or a session cookie. A route that declares nothing is refused,
 * so a forgotten declaration fails closed (and fails the access test).
 */
export default fp<AuthOptions>(async (app, { apiKey, access }) => {
  await app.register(cookie)
  app.decorateRequest('principal', null)
  app.decorateRequest('viaCookie', false)
  const limiterRedis = app.redis?.connect('rate-limit', { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 1000 })
  await app.register(rateLimit, {
    global: false,
    // several instances count together in Redis; while it is away, requests pass rather than fail
    ...(limiterRedis === undefined ? {} : { redis: limiterRedis, nameSpace: 'trackstream-rate:', skipOnError: true })
  })

  const byBearer = async (token: string): Promise<Principal> => {
    if (sameSecret(token, apiKey)) return INSTALLATION
    const parsed = parseApiKey(token)
    const key = parsed === null ? null : await selectUsableApiKey(app.db.sql, parsed.id)
    if (parsed === null || key === null || !sameBytes(key.secretHash, parsed.secretHash)) throw new Errors.Unauthorized()
    // the last use is kept to the minute: most requests need no write at all
    if (key.lastUsedAt === null || Date.now() - key.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
      touchApiKey(app.db.sql, key.id).catch((error: unknown) => { app.log.warn({ err: error }, 'could not stamp an API key\'s last use') })
    }
    return keyPrincipal(key)
  }

  const bySession = async (token: string): Promise<Principal | null> => {
    const hash = sha256(token)
    const session = await useSession(app.db.sql, hash, access.sessionIdleMs)
    if (session === null) return null
    return session.user === null ? { ...INSTALLATION, sessionHash: hash } : userPrincipal(session.user, hash)
  }

  /** Who is asking, or null: for the checks here and for GET /api/session. */
  const identify = async (request: FastifyRequest): Promise<Principal | null> => {
    const header = request.headers.authorization
    if (header?.startsWith('Bearer ') === true) return await byBearer(header.slice(7).trim())
    const session = request.cookies[SESSION_COOKIE]
    if (session === undefined || session.length > 128) return null
    const principal = await bySession(session)
    if (principal !== null) request.viaCookie = true
    return principal
  }
  app.decorate('identify', identify)

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const declared = request.routeOptions.config.access
    if (declared === 'public' || declared === 'device') return
    if (declared === undefined) {
      // unmatched URLs go on to the 404 handler; Swagger's own pages are public
      if (request.routeOptions.url === undefined || DOCS_ROUTE.test(request.routeOptions.url)) return
      throw new Errors.Forbidden('this route declares no permission, so it is closed')
    }
    const principal = await identify(request)
    if (principal === null) throw new Errors.Unauthorized()
    request.principal = principal
    if (!principal.permissions.has(declared)) throw new Errors.Forbidden(`this needs the "${declared}" permission`)
    // CSRF: a browser sends the cookie whichever page makes the request, and SameSite=Strict does
    // not stop a page of the same site on another port; a change must come from our own origins
    if (request.viaCookie && !SAFE_METHODS.has(request.method)) await app.requireOwnOrigin.call(app, request, reply)
  })
}, { name: 'trackstream-auth', dependencies: ['trackstream-db'] })

declare module 'fastify' {
  interface FastifyInstance {
    identify: (request: FastifyRequest) => Promise<Principal | null>
  }
}
