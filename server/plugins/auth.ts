import cookie from '@fastify/cookie'
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { issueSession, sameSecret, verifySession } from '../auth/api-key.js'
import { Errors } from '../errors.js'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * onRequest hook for everything that is not public: the API key, as bearer token or session.
     * onRequest runs before the body is parsed and validated, so a stranger learns nothing of the schema.
     */
    requireOps: onRequestAsyncHookHandler
  }
}

export const SESSION_COOKIE = 'ts_session'
const SESSION_HOURS = 12

export default fp<{ apiKey: string }>(async (app, { apiKey }) => {
  await app.register(cookie)

  const isOps = (request: FastifyRequest): boolean => {
    const header = request.headers.authorization
    if (header?.startsWith('Bearer ') === true) return sameSecret(header.slice(7).trim(), apiKey)
    const session = request.cookies[SESSION_COOKIE]
    return session !== undefined && verifySession(apiKey, session, Date.now())
  }

  app.decorate('requireOps', async (request: FastifyRequest) => {
    if (!isOps(request)) throw new Errors.Unauthorized()
  })

  app.post<{ Body: { apiKey: string } }>('/api/session', {
    schema: {
      tags: ['access'],
      summary: 'Log in to the ops dashboard with the API key; sets a session cookie',
      body: {
        type: 'object',
        required: ['apiKey'],
        additionalProperties: false,
        properties: { apiKey: { type: 'string', minLength: 1, maxLength: 512 } }
      },
      response: { 200: { type: 'object', properties: { expiresAt: { type: 'string', format: 'date-time' } } } }
    }
  }, async (request, reply) => {
    if (!sameSecret(request.body.apiKey, apiKey)) throw new Errors.BadApiKey()
    const expiresAt = Date.now() + SESSION_HOURS * 3600_000
    reply.setCookie(SESSION_COOKIE, issueSession(apiKey, expiresAt), {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure: request.protocol === 'https',
      expires: new Date(expiresAt)
    })
    return { expiresAt: new Date(expiresAt).toISOString() }
  })

  app.delete('/api/session', {
    schema: { tags: ['access'], summary: 'Log out', response: { 204: { type: 'null' } } }
  }, async (_request, reply) => {
    reply.clearCookie(SESSION_COOKIE, { path: '/' })
    return await reply.code(204).send()
  })

  app.get('/api/session', {
    schema: {
      tags: ['access'],
      summary: 'Whether this browser is logged in',
      response: { 200: { type: 'object', properties: { loggedIn: { type: 'boolean' } } } }
    }
  }, async (request) => ({ loggedIn: isOps(request) }))
}, { name: 'trackstream-auth' })
