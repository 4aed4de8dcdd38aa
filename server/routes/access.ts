import { Readable } from 'node:stream'
import type { FastifyPluginAsync } from 'fastify'
import { hashPassword } from '../auth/passwords.js'
import { PERMISSIONS, ROLES, scopeProblem, type Permission, type Role } from '../auth/permissions.js'
import { newApiKey } from '../auth/tokens.js'
import { insertApiKey, revokeApiKey, selectApiKeys } from '../db/queries/api-keys.js'
import { selectAuditEntries, type AuditRecord } from '../db/queries/audit.js'
import { insertMerchant, merchantExists, selectMerchants } from '../db/queries/merchants.js'
import { endUserSessions } from '../db/queries/sessions.js'
import { insertUser, selectUserByEmail, selectUsers, updateUser } from '../db/queries/users.js'
import { Errors } from '../errors.js'
import { dateTime, listOf, nullableString, ops } from './schemas.js'

const merchantIdSchema = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,62}$', description: 'lower case letters, digits, - and _' } as const
const nullableDate = { type: ['string', 'null'], format: 'date-time' } as const

const merchantSchema = { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, createdAt: dateTime } } as const

const keySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    merchantId: nullableString,
    scopes: { type: 'array', items: { type: 'string', enum: PERMISSIONS } },
    createdBy: { type: 'string' },
    createdAt: dateTime,
    expiresAt: nullableDate,
    lastUsedAt: nullableDate,
    revokedAt: nullableDate
  }
} as const

const userSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    email: { type: 'string' },
    name: nullableString,
    role: { type: 'string', enum: ROLES },
    merchantId: nullableString,
    disabled: { type: 'boolean' },
    createdAt: dateTime
  }
} as const

const auditSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    at: dateTime,
    actor: { type: 'string' },
    merchantId: nullableString,
    ip: nullableString,
    action: { type: 'string' },
    target: nullableString,
    outcome: { type: 'string', enum: ['ok', 'refused', 'failed'] },
    detail: { type: 'object', additionalProperties: true }
  }
} as const

const emailSchema = { type: 'string', pattern: '^[^\\s@]+@[^\\s@]+$', maxLength: 254 } as const
/** Long enough that a guess costs; no composition rules (NIST SP 800-63B). */
const passwordSchema = { type: 'string', minLength: 12, maxLength: 1024 } as const
const admin = { access: 'access:admin' } as const

interface NewKeyBody { name: string, merchantId?: string, scopes: string[], expiresAt?: string }
interface NewUserBody { email: string, name?: string, password: string, role: Role, merchantId?: string }
interface UserPatch { disabled?: boolean, role?: Role, merchantId?: string | null, password?: string, name?: string | null }
interface AuditQuery { actor?: string, action?: string, from?: string, to?: string, before?: string, limit: number, format: 'json' | 'ndjson' }

/** Merchants, API keys, ops users and the audit log: the installation's administrators only. */
const access: FastifyPluginAsync = async (app) => {
  const { sql } = app.db

  const requireMerchant = async (id: string | undefined | null): Promise<void> => {
    if (id !== undefined && id !== null && !await merchantExists(sql, id)) throw new Errors.UnknownReference('merchant', id)
  }

  app.post<{ Body: { id: string, name: string } }>('/api/merchants', {
    config: admin,
    schema: {
      tags: ['access'],
      summary: 'Add a merchant: a shipper whose parcels, webhooks and money are its own',
      ...ops,
      body: { type: 'object', required: ['id', 'name'], additionalProperties: false, properties: { id: merchantIdSchema, name: { type: 'string', minLength: 1, maxLength: 200 } } },
      response: { 201: merchantSchema }
    }
  }, async (request, reply) => {
    const merchant = await insertMerchant(sql, request.body)
    if (merchant === null) throw new Errors.AlreadyExists('merchant', request.body.id)
    return await reply.code(201).send(merchant)
  })

  app.get('/api/merchants', {
    config: admin,
    schema: { tags: ['access'], summary: 'Every merchant', ...ops, response: { 200: listOf(merchantSchema) } }
  }, async () => ({ items: await selectMerchants(sql) }))

  app.post<{ Body: NewKeyBody }>('/api/keys', {
    config: admin,
    schema: {
      tags: ['access'],
      summary: 'Create an API key; the key itself is in this answer only, and is stored hashed',
      description: `A merchant's key (merchantId set) sees only that merchant's parcels and may hold only merchant scopes. Scopes: ${PERMISSIONS.join(', ')}.`,
      ...ops,
      body: {
        type: 'object',
        required: ['name', 'scopes'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 200 },
          merchantId: merchantIdSchema,
          scopes: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', maxLength: 64 } },
          expiresAt: { ...dateTime, description: 'after this the key stops working; never, when absent' }
        }
      },
      response: { 201: { type: 'object', properties: { key: { type: 'string', description: 'shown once' }, ...keySchema.properties } } }
    }
  }, async (request, reply) => {
    const { name, merchantId = null, scopes, expiresAt } = request.body
    const problem = scopeProblem(merchantId, scopes)
    if (problem !== null) throw new Errors.BadShape(problem)
    await requireMerchant(merchantId)
    const expires = expiresAt === undefined ? null : new Date(expiresAt)
    if (expires !== null && expires.getTime() <= app.now()) throw new Errors.BadShape('expiresAt is in the past')
    const fresh = newApiKey()
    const record = await insertApiKey(sql, {
      id: fresh.id,
      secretHash: fresh.secretHash,
      name,
      merchantId,
      scopes: scopes as Permission[],
      createdBy: request.principal?.actor ?? 'installation',
      expiresAt: expires
    })
    await app.audit(request, { action: 'keys.create', target: record.id, outcome: 'ok', detail: { name, merchantId, scopes } })
    return await reply.code(201).send({ key: fresh.key, ...record })
  })

  app.get<{ Querystring: { merchantId?: string } }>('/api/keys', {
    config: admin,
    schema: {
      tags: ['access'],
      summary: 'API keys (never their secrets), newest first',
      ...ops,
      querystring: { type: 'object', properties: { merchantId: merchantIdSchema } },
      response: { 200: listOf(keySchema) }
    }
  }, async (request) => ({ items: (await selectApiKeys(sql, request.query.merchantId ?? null)) }))

  app.delete<{ Params: { id: string } }>('/api/keys/:id', {
    config: admin,
    schema: {
      tags: ['access'],
      summary: 'Revoke an API key: it stops working at once, on every instance',
      ...ops,
      params: { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 64 } } },
      response: { 200: keySchema }
    }
  }, async (request) => {
    const key = await revokeApiKey(sql, request.params.id, null)
    if (key === null) throw new Errors.NotFound('API key', request.params.id)
    return key
  })

  app.post<{ Body: NewUserBody }>('/api/users', {
    config: admin,
    schema: {
      tags: ['access'],
      summary: 'Add an ops user (admin, dispatcher, finance, claims, viewer) or a merchant\'s user (role merchant, with merchantId)',
      ...ops,
      body: {
        type: 'object',
        required: ['email', 'password', 'role'],
        additionalProperties: false,
        properties: { email: emailSchema, name: { type: 'string', maxLength: 200 }, password: passwordSchema, role: { type: 'string', enum: ROLES }, merchantId: merchantIdSchema }
      },
      response: { 201: userSchema }
    }
  }, async (request, reply) => {
    const { email, name = null, password, role, merchantId = null } = request.body
    if ((role === 'merchant') !== (merchantId !== null)) throw new Errors.BadShape('a merchant user needs a merchantId, and only a merchant user has one')
    await requireMerchant(merchantId)
    const user = await insertUser(sql, { email, name, passwordHash: await hashPassword(password), role, merchantId })
    if (user === null) throw new Errors.AlreadyExists('user', email)
    await app.audit(request, { action: 'users.create', target: email, outcome: 'ok', detail: { role, merchantId } })
    return await reply.code(201).send(user)
  })

  app.get('/api/users', {
    config: admin,
    schema: { tags: ['access'], summary: 'Every user', ...ops, response: { 200: listOf(userSchema) } }
  }, async () => ({ items: (await selectUsers(sql)) }))

  app.patch<{ Params: { email: string }, Body: UserPatch }>('/api/users/:email', {
    config: admin,
    schema: {
      tags: ['access'],
      summary: 'Disable or enable a user, change the role or password; a disabled user\'s or a changed role\'s sessions end at once',
      ...ops,
      params: { type: 'object', required: ['email'], properties: { email: emailSchema } },
      body: {
        type: 'object',
        additionalProperties: false,
        minProperties: 1,
        properties: {
          disabled: { type: 'boolean' },
          role: { type: 'string', enum: ROLES },
          merchantId: { ...merchantIdSchema, type: ['string', 'null'] },
          password: passwordSchema,
          name: { type: ['string', 'null'], maxLength: 200 }
        }
      },
      response: { 200: { type: 'object', properties: { ...userSchema.properties, sessionsEnded: { type: 'integer' } } } }
    }
  }, async (request) => {
    const current = await selectUserByEmail(sql, request.params.email)
    if (current === null) throw new Errors.NotFound('user', request.params.email)
    const { password, ...rest } = request.body
    const role = rest.role ?? current.role
    const merchantId = rest.merchantId !== undefined ? rest.merchantId : role === 'merchant' ? current.merchantId : null
    if ((role === 'merchant') !== (merchantId !== null)) throw new Errors.BadShape('a merchant user needs a merchantId, and only a merchant user has one')
    await requireMerchant(merchantId)
    const updated = await updateUser(sql, current.id, { ...rest, merchantId, ...(password === undefined ? {} : { passwordHash: await hashPassword(password) }) })
    if (updated === null) throw new Errors.NotFound('user', request.params.email)
    const sessionsEnded = await endUserSessions(sql, current.id)
    await app.audit(request, {
      action: 'users.change',
      target: current.email,
      outcome: 'ok',
      detail: { ...rest, ...(password === undefined ? {} : { password: 'changed' }), sessionsEnded }
    })
    return { ...updated, sessionsEnded }
  })

  app.get<{ Querystring: AuditQuery }>('/api/audit', {
    config: admin,
    schema: {
      tags: ['access'],
      summary: 'The audit log, newest first: logins, key and user changes, every change made through the API, reads of personal data',
      description: 'format=ndjson exports every matching entry (no limit) as one JSON object per line.',
      ...ops,
      querystring: {
        type: 'object',
        properties: {
          actor: { type: 'string', maxLength: 300, description: '"installation", "key:<id>" or "user:<email>"' },
          action: { type: 'string', maxLength: 200, description: 'a prefix: "session." or "POST /api/parcels"' },
          from: dateTime,
          to: dateTime,
          before: { type: 'string', pattern: '^\\d{1,19}$', description: 'the `next` of the previous page' },
          limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          format: { type: 'string', enum: ['json', 'ndjson'], default: 'json' }
        }
      },
      response: { 200: { type: 'object', properties: { items: { type: 'array', items: auditSchema }, next: nullableString } } }
    }
  }, async (request, reply) => {
    const { actor, action, from, to, before, limit, format } = request.query
    const filter = { actor, action, from: from === undefined ? undefined : new Date(from), to: to === undefined ? undefined : new Date(to) }
    if (format === 'ndjson') {
      void reply.type('application/x-ndjson').header('content-disposition', 'attachment; filename="trackstream-audit.ndjson"')
      return await reply.send(Readable.from(exportAudit(filter)))
    }
    const items = await selectAuditEntries(sql, { ...filter, before, limit })
    return { items, next: items.length === limit ? items.at(-1)?.id ?? null : null }
  })

  /** Every matching entry, read and sent a page at a time. */
  async function * exportAudit (filter: Omit<Parameters<typeof selectAuditEntries>[1], 'limit' | 'before'>): AsyncGenerator<string> {
    let before: string | undefined
    for (;;) {
      const page: AuditRecord[] = await selectAuditEntries(sql, { ...filter, before, limit: 1000 })
      if (page.length > 0) yield page.map((entry) => JSON.stringify(entry) + '\n').join('')
      if (page.length < 1000) return
      before = page.at(-1)?.id
    }
  }
}

export default access
