import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { insertAuditEntry, type AuditEntry } from '../db/queries/audit.js'
import { SAFE_METHODS } from './auth.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * A read worth recording: the route shows personal data (a buyer's name and address, a
     * proof-of-delivery photo). Changes are recorded for every route without saying so.
     */
    auditRead?: string
  }
  interface FastifyInstance {
    /** Appends to the audit log; never throws (a failure to record is logged as an error). */
    audit: (request: FastifyRequest | null, entry: Omit<AuditEntry, 'actor' | 'merchantId' | 'ip'> & Partial<AuditEntry>) => Promise<void>
  }
}


/**
 * The audit log: who did what, when, from where. Every change made through a credentialed route
 * is recorded once it has been answered, with its route, its target and its answer's status;
 * logins and key and user changes add entries of their own (routes/access.ts).
 */
export default fp(async (app) => {
  app.decorate('audit', async (request, entry) => {
    const full: AuditEntry = {
      actor: request?.principal?.actor ?? 'anonymous',
      merchantId: request?.principal?.merchantId ?? null,
      ip: request?.ip ?? null,
      ...entry
    }
    try {
      await insertAuditEntry(app.db.sql, full)
    } catch (error) {
      app.log.error({ err: error, audit: full }, 'could not write an audit log entry')
    }
  })

  app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const { config, url, method } = request.routeOptions
    if (request.principal === null || url === undefined) return
    const isChange = !SAFE_METHODS.has(request.method)
    // a read is personal data only for those who are shown it (the others see it masked)
    if (!isChange && (config.auditRead === undefined || !request.principal.permissions.has('pii:read'))) return
    if (reply.statusCode === 401 || reply.statusCode === 404) return
    const params = request.params as Record<string, string> | undefined
    const target = params === undefined || Object.keys(params).length === 0 ? null : Object.values(params).join('/')
    await app.audit(request, {
      action: isChange ? `${[method].flat().join(',')} ${url}` : `read ${config.auditRead}`,
      target,
      outcome: reply.statusCode < 400 ? 'ok' : reply.statusCode === 403 ? 'refused' : 'failed',
      detail: { status: reply.statusCode }
    })
  })
}, { name: 'trackstream-audit', dependencies: ['trackstream-db'] })
