import { randomUUID } from 'node:crypto'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { canSee } from '../auth/permissions.js'
import { insertPing, requeueFailed, selectDeliveries } from '../db/queries/webhook-deliveries.js'
import {
  deleteSubscription, insertSubscription, selectSubscription, selectSubscriptions, type WebhookSubscription
} from '../db/queries/webhook-subscriptions.js'
import { Errors } from '../errors.js'
import { MILESTONE_CODES } from '../tracking/milestones.js'
import { checkDestination } from '../webhooks/destination.js'
import { newSecret } from '../webhooks/sign.js'
import { dateTime, listOf, nullableNumber, nullableString, ops } from './schemas.js'

const eventType = { type: 'string', enum: ['*', ...MILESTONE_CODES, 'remittance.created', 'remittance.paid'], description: 'a milestone code, a remittance event, or * for every event' } as const

const uuidParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', format: 'uuid' } }
} as const

const subscriptionProperties = {
  id: { type: 'string' },
  url: { type: 'string' },
  merchantId: { ...nullableString, description: 'set for a merchant\'s own subscription: it hears of that merchant\'s parcels only' },
  events: { type: 'array', items: { type: 'string' } },
  description: nullableString,
  enabled: { type: 'boolean' },
  createdAt: dateTime
} as const

const subscriptionSchema = { type: 'object', properties: subscriptionProperties } as const

const deliverySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    eventId: { type: 'string' },
    eventType: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'delivered', 'failed'] },
    attempts: { type: 'integer' },
    lastStatusCode: nullableNumber,
    lastError: { ...nullableString, description: 'why the last attempt failed, e.g. "HTTP 503" or "forbidden destination: …"; never the receiver\'s answer' },
    lastAttemptAt: { type: ['string', 'null'], format: 'date-time' },
    nextAttemptAt: { type: ['string', 'null'], format: 'date-time' },
    deliveredAt: { type: ['string', 'null'], format: 'date-time' },
    createdAt: dateTime,
    payload: { type: 'object', additionalProperties: true, description: 'the body that was (or will be) sent' }
  }
} as const

interface NewSubscriptionBody {
  url: string
  events: string[]
  description?: string
  secret?: string
  enabled: boolean
}

const webhooks: FastifyPluginAsync = async (app) => {

  /** Refuses a URL that points inside the operator's network (issue 14); what a name resolves to is checked at delivery. */
  const allowedDestination = (url: string): void => {
    const verdict = checkDestination(url, { allowPrivate: app.webhooks.allowPrivate })
    if (!verdict.allowed) throw new Errors.ForbiddenDestination(verdict.reason)
  }

  const find = async (id: string, request: FastifyRequest): Promise<WebhookSubscription> => {
    const subscription = await selectSubscription(app.db.sql, id)
    // another merchant's subscription does not exist, as far as this merchant can tell
    if (subscription === undefined || !canSee(request.principal, subscription.merchantId)) throw new Errors.NotFound('webhook', id)
    return subscription
  }

  app.post<{ Body: NewSubscriptionBody }>('/api/webhooks', {
    config: { access: 'webhooks' },
    schema: {
      tags: ['webhooks'],
      summary: 'Subscribe a URL to milestone events; the answer holds the signing secret, shown once',
      ...ops,
      body: {
        type: 'object',
        required: ['url'],
        additionalProperties: false,
        properties: {
          url: {
            type: 'string',
            minLength: 1,
            maxLength: 2048,
            description: 'http:// or https://, without a user name or password; not loopback, private, link-local or other non-public addresses (400 TS_FORBIDDEN_DESTINATION) unless WEBHOOK_ALLOW_PRIVATE=true'
          },
          events: { type: 'array', items: eventType, minItems: 1, uniqueItems: true, default: ['*'] },
          description: { type: 'string', maxLength: 500 },
          secret: { type: 'string', minLength: 16, maxLength: 256, description: 'defaults to 32 random bytes, base64url' },
          enabled: { type: 'boolean', default: true }
        }
      },
      response: {
        201: { type: 'object', properties: { ...subscriptionProperties, secret: { type: 'string' } } }
      }
    }
  }, async (request, reply) => {
    const { url, events, description = null, enabled } = request.body
    const href = httpUrl(url)
    if (href === undefined) throw new Errors.BadShape('url must be an http:// or https:// URL')
    allowedDestination(href)
    const secret = request.body.secret ?? newSecret()
    const subscription = await insertSubscription(app.db.sql, {
      id: randomUUID(),
      url: href,
      secret,
      merchantId: request.principal?.merchantId ?? null,
      events: events.includes('*') ? ['*'] : events,
      description,
      enabled,
      createdAt: new Date(app.now())
    })
    return await reply.code(201).send({ ...subscription, secret })
  })

  app.get('/api/webhooks', {
    config: { access: 'webhooks' },
    schema: { tags: ['webhooks'], summary: 'Every webhook subscription (without secrets)', ...ops, response: { 200: listOf(subscriptionSchema) } }
  }, async (request) => ({ items: await selectSubscriptions(app.db.sql, request.principal?.merchantId ?? null) }))

  app.delete<{ Params: { id: string } }>('/api/webhooks/:id', {
    config: { access: 'webhooks' },
    schema: {
      tags: ['webhooks'],
      summary: 'Unsubscribe: stops deliveries and deletes the delivery log',
      ...ops,
      params: uuidParams,
      response: { 204: { type: 'null' } }
    }
  }, async (request, reply) => {
    await find(request.params.id, request)
    if (!await deleteSubscription(app.db.sql, request.params.id)) throw new Errors.NotFound('webhook', request.params.id)
    return await reply.code(204).send()
  })

  app.get<{ Params: { id: string }, Querystring: { limit: number } }>('/api/webhooks/:id/deliveries', {
    config: { access: 'webhooks' },
    schema: {
      tags: ['webhooks'],
      summary: 'The delivery log: one entry per event, with its attempts, newest first',
      ...ops,
      params: uuidParams,
      querystring: {
        type: 'object',
        properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 } }
      },
      response: { 200: listOf(deliverySchema) }
    }
  }, async (request) => {
    const subscription = await find(request.params.id, request)
    return { items: await selectDeliveries(app.db.sql, subscription.id, request.query.limit) }
  })

  app.post<{ Params: { id: string } }>('/api/webhooks/:id/test', {
    config: { access: 'webhooks' },
    schema: {
      tags: ['webhooks'],
      summary: 'Send a ping event to this subscription now',
      ...ops,
      params: uuidParams,
      response: { 202: { type: 'object', properties: { eventId: { type: 'string' }, deliveryId: { type: 'string' } } } }
    }
  }, async (request, reply) => {
    const subscription = await find(request.params.id, request)
    if (!subscription.enabled) throw new Errors.WrongState(`webhook "${subscription.id}" is disabled`)
    // stored before the check existed, or while WEBHOOK_ALLOW_PRIVATE was on
    allowedDestination(subscription.url)
    const now = app.now()
    const eventId = randomUUID()
    const deliveryId = await insertPing(app.db.sql, {
      eventId,
      subscriptionId: subscription.id,
      now,
      payload: { id: eventId, type: 'ping', occurredAt: new Date(now).toISOString(), webhook: { id: subscription.id } }
    })
    // deleted or disabled meanwhile
    if (deliveryId === undefined) throw new Errors.NotFound('webhook', subscription.id)
    app.webhooks.wake()
    return await reply.code(202).send({ eventId, deliveryId })
  })

  app.post<{ Params: { id: string } }>('/api/webhooks/deliveries/:id/retry', {
    config: { access: 'webhooks' },
    schema: {
      tags: ['webhooks'],
      summary: 'Queue a failed delivery again, for one more attempt now',
      ...ops,
      params: uuidParams,
      response: { 202: { type: 'object', properties: { id: { type: 'string' }, status: { type: 'string' } } } }
    }
  }, async (request, reply) => {
    const { id } = request.params
    const previous = await requeueFailed(app.db.sql, id, app.now(), request.principal?.merchantId ?? null)
    if (previous === undefined) throw new Errors.NotFound('webhook delivery', id)
    if (previous !== 'failed') throw new Errors.WrongState(`webhook delivery "${id}" is ${previous}; only a failed one can be retried`)
    app.webhooks.wake()
    return await reply.code(202).send({ id, status: 'pending' })
  })
}

/** The URL in its normal form, if it is http(s); undefined if not. */
function httpUrl (value: string): string | undefined {
  try {
    const { protocol, hostname, href } = new URL(value)
    return (protocol === 'http:' || protocol === 'https:') && hostname !== '' ? href : undefined
  } catch {
    return undefined
  }
}

export default webhooks
