import { isUtf8 } from 'node:buffer'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { findTextProblem } from '../../proto/text.js'
import { isDatabaseUnavailable } from '../db/sql.js'
import { Errors } from '../errors.js'
import { ShutdownError } from '../pipeline/group-commit.js'

/** How long a client should wait before trying again after a 503. */
const RETRY_AFTER_SECONDS = 5

/**
 * What every HTTP request passes before a route sees it, and what every error becomes after:
 * - JSON bodies must be valid UTF-8 (Fastify's own parser would swap bad bytes for U+FFFD);
 * - no string in the body, query or path may hold what PostgreSQL cannot store (a NUL, an
 *   unpaired surrogate): a clear 400 instead of a 500 carrying PostgreSQL's words;
 * - an error without a status of its own never shows its message: a database that is away is a
 *   503 with Retry-After, anything else a 500 naming the request id it is logged under.
 */
export default fp(async (app) => {
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    if (!isUtf8(body as Buffer)) {
      done(new Errors.BadText('the body is not valid UTF-8'), undefined)
      return
    }
    parseJson(request, (body as Buffer).toString('utf8'), done)
  })

  app.addHook('preValidation', async (request: FastifyRequest) => {
    const problem = (Buffer.isBuffer(request.body) ? undefined : findTextProblem(request.body, 'body')) ??
      findTextProblem(request.query, 'query') ??
      findTextProblem(request.params, 'path')
    if (problem !== undefined) throw new Errors.BadText(problem)
  })

  app.setErrorHandler(async (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const status = error.statusCode ?? 500
    if (status < 500) return await reply.code(status).send(error)
    let answer: FastifyError
    if (error instanceof ShutdownError) answer = new Errors.ShuttingDown()
    else if (error.code?.startsWith('TS_') === true) answer = error
    else if (isDatabaseUnavailable(error)) answer = new Errors.DatabaseUnavailable()
    else answer = new Errors.Internal(request.id)
    if (answer.statusCode === 503) {
      request.log.warn({ reason: error.message, url: request.url }, 'answered 503')
      void reply.header('retry-after', String(RETRY_AFTER_SECONDS))
    } else {
      request.log.error({ err: error, url: request.url }, 'request failed')
    }
    return await reply.code(answer.statusCode ?? 500).send(answer)
  })
}, { name: 'trackstream-request-guard' })
