import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { sameSecret } from '../auth/api-key.js'
import { passwordMatches, spendLikeAVerify } from '../auth/passwords.js'
import { INSTALLATION, PERMISSIONS, userPrincipal, type Principal } from '../auth/permissions.js'
import { newSessionToken, sha256 } from '../auth/tokens.js'
import type { AccessConfig } from '../config.js'
import { endSession, insertSession } from '../db/queries/sessions.js'
import { clearFailedLogins, recordFailedLogin, selectLoginCandidate } from '../db/queries/users.js'
import { Errors } from '../errors.js'
import { SESSION_COOKIE } from '../plugins/auth.js'

interface LoginBody { apiKey?: string, email?: string, password?: string }

/** The longest an account waits between tries, however many wrong passwords it has had. */
const MAX_LOCK_MS = 15 * 60_000

const sessionSchema = {
  type: 'object',
  properties: {
    loggedIn: { type: 'boolean' },
    actor: { type: ['string', 'null'] },
    role: { type: ['string', 'null'] },
    merchantId: { type: ['string', 'null'] },
    permissions: { type: 'array', items: { type: 'string', enum: PERMISSIONS } },
    expiresAt: { type: 'string', format: 'date-time' }
  }
} as const

function describe (principal: Principal | null): Record<string, unknown> {
  if (principal === null) return { loggedIn: false, actor: null, role: null, merchantId: null, permissions: [] }
  return { loggedIn: true, actor: principal.actor, role: principal.role, merchantId: principal.merchantId, permissions: [...principal.permissions] }
}

/**
 * Logging in and out of the dashboard. A session is a random token in an HttpOnly, SameSite=Strict
 * cookie (Secure over TLS or behind a trusted proxy that says so); the database holds its hash, so
 * logout and disabling a user end it at once on every instance.
 */
export default (access: AccessConfig, apiKey: string): FastifyPluginAsync => async (app) => {
  const open = async (request: FastifyRequest, reply: FastifyReply, principal: Principal, userId: string | null): Promise<Record<string, unknown>> => {
    const { token, hash } = newSessionToken()
    const expiresAt = await insertSession(app.db.sql, { hash, userId, maxAgeMs: access.sessionMaxMs, ip: request.ip, userAgent: request.headers['user-agent']?.slice(0, 300) ?? null })
    reply.setCookie(SESSION_COOKIE, token, { path: '/', httpOnly: true, sameSite: 'strict', secure: request.protocol === 'https', expires: expiresAt })
    request.principal = principal
    await app.audit(request, { action: 'session.login', target: principal.actor, outcome: 'ok', detail: {} })
    return { ...describe(principal), expiresAt: expiresAt.toISOString() }
  }

  const refuse = async (request: FastifyRequest, who: string, why: string): Promise<void> => {
    await app.audit(request, { actor: 'anonymous', action: 'session.login', target: who, outcome: 'failed', detail: { why } })
  }

  app.post<{ Body: LoginBody }>('/api/session', {
    config: { access: 'public', rateLimit: { max: access.loginPerMinute, timeWindow: 60_000 } },
    schema: {
      tags: ['access'],
      summary: 'Log in to the ops dashboard, with an email and password or the installation key; sets a session cookie',
      description: `At most ${access.loginPerMinute} tries per minute from one address (429 after). After ${access.loginFreeTries} wrong passwords in a row an account waits before each next try, twice as long each time (429 with Retry-After), whoever tries.`,
      body: {
        type: 'object',
        additionalProperties: false,
        properties: {
          apiKey: { type: 'string', minLength: 1, maxLength: 512 },
          email: { type: 'string', minLength: 3, maxLength: 254 },
          password: { type: 'string', minLength: 1, maxLength: 1024 }
        }
      },
      response: { 200: sessionSchema }
    }
  }, async (request, reply) => {
    const { apiKey: given, email, password } = request.body
    if (given !== undefined) {
      if (!sameSecret(given, apiKey)) {
        await refuse(request, 'installation', 'wrong key')
        throw new Errors.BadApiKey()
      }
      return await open(request, reply, INSTALLATION, null)
    }
    if (email === undefined || password === undefined) throw new Errors.BadShape('send {"email", "password"}, or {"apiKey"}')
    const user = await selectLoginCandidate(app.db.sql, email)
    if (user === null || user.disabled) {
      await spendLikeAVerify(password)
      await refuse(request, email, user === null ? 'no such user' : 'disabled')
      throw new Errors.BadCredentials()
    }
    if (user.lockedForMs > 0) {
      await refuse(request, email, 'waiting after wrong passwords')
      void reply.header('retry-after', String(Math.ceil(user.lockedForMs / 1000)))
      throw new Errors.TooManyAttempts(Math.ceil(user.lockedForMs / 1000))
    }
    if (!await passwordMatches(user.passwordHash, password)) {
      await recordFailedLogin(app.db.sql, user.id, access.loginFreeTries, MAX_LOCK_MS)
      await refuse(request, email, 'wrong password')
      throw new Errors.BadCredentials()
    }
    await clearFailedLogins(app.db.sql, user.id)
    return await open(request, reply, userPrincipal(user), user.id)
  })

  app.delete('/api/session', {
    config: { access: 'public' },
    schema: { tags: ['access'], summary: 'Log out: ends the session everywhere at once', response: { 204: { type: 'null' } } }
  }, async (request, reply) => {
    const token = request.cookies[SESSION_COOKIE]
    if (token !== undefined) {
      request.principal = await app.identify(request).catch(() => null)
      await endSession(app.db.sql, sha256(token))
      if (request.principal !== null) await app.audit(request, { action: 'session.logout', target: request.principal.actor, outcome: 'ok', detail: {} })
    }
    reply.clearCookie(SESSION_COOKIE, { path: '/' })
    return await reply.code(204).send()
  })

  app.get('/api/session', {
    config: { access: 'public' },
    schema: {
      tags: ['access'],
      summary: 'Who this browser (or bearer key) is logged in as, and what it may do',
      response: { 200: sessionSchema }
    }
  }, async (request) => describe(await app.identify(request).catch(() => null)))
}
