import type { FastifyPluginAsync, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import { decodeAs } from '../../gateway/decoders/index.js'
import { FORMATS_BY_KIND, type DecodedBatch, type DeviceFormat } from '../../gateway/decoders/format.js'
import { decodeOsmAndJson, decodeOsmAndQuery } from '../../gateway/decoders/osmand.js'
import type { IngestMessage } from '../../gateway/ingest-message.js'
import type { Rejection, RejectReason } from '../../gateway/rejects.js'
import { verifySecret } from '../../gateway/secrets.js'
import { Errors } from '../errors.js'
import type { DeviceRecord } from '../model.js'

const summarySchema = {
  type: 'object',
  properties: {
    accepted: { type: 'object', properties: { fixes: { type: 'integer' }, scans: { type: 'integer' }, events: { type: 'integer' } } },
    rejects: { type: 'array', items: { type: 'object', properties: { reason: { type: 'string' }, detail: { type: 'string' } } } }
  }
} as const

const device = { security: [{ deviceBasic: [] }] }

declare module 'fastify' {
  interface FastifyRequest {
    /** The device that authenticated with HTTP Basic (its id and secret). */
    device: DeviceRecord | null
  }
}

/**
 * Devices that post over HTTP: phones (OsmAnd / Traccar Client, OwnTracks HTTP mode), reader
 * webhooks, LoRaWAN network server webhooks. Same pipeline as MQTT; the answer waits for the
 * commit, so a 200 means stored.
 */
const ingest: FastifyPluginAsync = async (app) => {
  const { engine, stats } = app
  const { config } = engine.store
  // decoders take the raw bytes: the payload is kept as received when it is refused
  app.removeContentTypeParser(['application/json', 'text/plain'])
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => { done(null, body) })

  const refuse = async (reply: FastifyReply, deviceId: string | null, reason: RejectReason, address: string): Promise<FastifyReply> => {
    if (reason === 'unknown_device' && deviceId !== null) stats.unknownDevice(deviceId, address, app.now())
    else stats.rejected(deviceId, reason)
    // an unknown id and a wrong secret answer alike, as MQTT's CONNACK does: the answer must not
    // tell a stranger which device ids exist (the counters keep the difference for ops)
    const said = reason === 'unknown_device' || reason === 'bad_secret' ? 'bad_credentials' : reason
    return await reply.code(401).header('www-authenticate', 'Basic realm="trackstream"').send({
      statusCode: 401, code: 'TS_DEVICE_REFUSED', error: 'Unauthorized', message: `device refused: ${said}`
    })
  }

  app.decorateRequest('device', null)

  /**
   * An onRequest hook: the device from HTTP Basic credentials (id, secret), refused as MQTT would
   * refuse it, before anything of the request is parsed or validated.
   */
  const deviceAuth = (formats: readonly DeviceFormat[]): onRequestAsyncHookHandler => async (request, reply) => {
    const [id, secret] = basicCredentials(request.headers.authorization)
    if (id === undefined || secret === undefined) return await refuse(reply, null, 'missing_credentials', request.ip)
    const found = config.device(id)
    let reason: RejectReason | undefined
    if (found === undefined) reason = 'unknown_device'
    else if (!verifySecret(secret, found.secretHash)) reason = 'bad_secret'
    else if (found.disabled) reason = 'device_disabled'
    else if (!formats.includes(found.format)) reason = 'wrong_format'
    if (reason !== undefined) return await refuse(reply, id, reason, request.ip)
    request.device = found ?? null
  }

  const authenticated = (request: FastifyRequest): DeviceRecord => {
    if (request.device === null) throw new Error('deviceAuth did not run')
    return request.device
  }

  /** Answers once committed; while the in-flight budget is spent (the database is slow or away), 503 at once. */
  const store = async (device: DeviceRecord, route: string, payload: Buffer, batch: DecodedBatch, receivedAt: number) => {
    if (app.inflight.exhausted) {
      stats.rejected(device.id, 'overloaded')
      throw new Errors.Overloaded()
    }
    const release = app.inflight.hold()
    try {
      const message: IngestMessage = { deviceId: device.id, topic: `http:${route}`, payload, receivedAt, ...batch }
      return summary(batch, await app.ingest(message))
    } finally {
      release()
    }
  }

  app.post<{ Params: { channel: 'fix' | 'scan' } }>('/api/ingest/:channel', {
    config: { access: 'device' },
    onRequest: deviceAuth(['trackstream', 'impinj', 'zebra', 'nmea', 'owntracks', 'osmand']),
    schema: {
      tags: ['ingest'],
      summary: 'A device posts fixes or scans in the format it is registered with (HTTP Basic: device id and secret)',
      ...device,
      params: { type: 'object', properties: { channel: { type: 'string', enum: ['fix', 'scan'] } } },
      response: { 200: summarySchema }
    }
  }, async (request) => {
    const found = authenticated(request)
    const payload = bodyOf(request)
    const receivedAt = app.now()
    const batch = decodeAs(found.format, request.params.channel, payload, { deviceId: found.id, topic: null, receivedAt })
    return await store(found, request.url, payload, batch, receivedAt)
  })

  app.post('/api/driver/events', {
    config: { access: 'device' },
    onRequest: deviceAuth(FORMATS_BY_KIND.tracker),
    schema: {
      tags: ['ingest'],
      summary: 'The driver app records a delivery, a failed attempt or cash collected (HTTP Basic: the driver device id and secret)',
      description: 'One event, an array, or { "events": [...] }, as on the MQTT topic ts/v1/<deviceId>/driver; see proto/CONTRACT.md. Answers 200 once stored; `rejects` says why any event was refused (an unknown tracking number, COD in the wrong currency).',
      ...device,
      response: { 200: summarySchema }
    }
  }, async (request) => {
    const found = authenticated(request)
    const payload = bodyOf(request)
    const receivedAt = app.now()
    return await store(found, '/api/driver/events', payload, decodeAs(found.format, 'driver', payload, { deviceId: found.id, topic: null, receivedAt }), receivedAt)
  })

  app.post('/owntracks', {
    config: { access: 'device' },
    onRequest: deviceAuth(['owntracks']),
    schema: {
      tags: ['ingest'],
      summary: 'OwnTracks in HTTP mode (Basic auth: device id and secret); answers [] as the app expects',
      ...device,
      response: { 200: { type: 'array', items: { type: 'object' } } }
    }
  }, async (request) => {
    const found = authenticated(request)
    const payload = bodyOf(request)
    const receivedAt = app.now()
    await store(found, '/owntracks', payload, decodeAs('owntracks', 'fix', payload, { deviceId: found.id, topic: null, receivedAt }), receivedAt)
    return []
  })

  // Traccar Client and OsmAnd send a query string (any method, or a form body) or a JSON body.
  // The protocol has no password: the device id is the only identity, as in Traccar.
  app.route({
    config: { access: 'device' },
    method: ['GET', 'POST', 'PUT'],
    url: '/osmand',
    schema: {
      tags: ['ingest'],
      summary: 'Traccar Client / OsmAnd protocol: query string or JSON body; the device is the registered id it names',
      response: { 200: summarySchema }
    },
    handler: async (request, reply) => {
      const receivedAt = app.now()
      const body = bodyOf(request)
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : ''
      const isJson = body.length > 0 && /json/.test(request.headers['content-type'] ?? '')
      const payload = isJson ? body : Buffer.from(query !== '' ? query : body.toString('utf8'))
      const decoded = (isJson ? decodeOsmAndJson : decodeOsmAndQuery)(payload, { deviceId: '', topic: null, receivedAt })
      const id = decoded.fixes[0]?.deviceId ?? osmandId(payload, isJson)
      const found = id === undefined ? undefined : config.device(id)
      if (id === undefined) return await refuse(reply, null, 'missing_device_id', request.ip)
      if (found === undefined) return await refuse(reply, id, 'unknown_device', request.ip)
      if (found.disabled) return await refuse(reply, id, 'device_disabled', request.ip)
      if (found.format !== 'osmand') return await refuse(reply, id, 'wrong_format', request.ip)
      return await store(found, '/osmand', payload, decoded, receivedAt)
    }
  })

  for (const format of ['ttn', 'chirpstack'] as const) {
    app.post<{ Querystring: { event?: string } }>(`/integrations/${format}`, {
      config: { access: 'device' },
      onRequest: deviceAuth([format]),
      schema: {
        tags: ['ingest'],
        summary: format === 'ttn'
          ? 'The Things Stack webhook (uplink messages; Basic auth: the network server device id and secret)'
          : 'ChirpStack HTTP integration, JSON marshaler (?event=up; Basic auth: the network server device id and secret)',
        ...device,
        querystring: { type: 'object', properties: { event: { type: 'string', pattern: '^[a-z_]{1,32}$' } } },
        response: { 200: summarySchema }
      }
    }, async (request) => {
      const found = authenticated(request)
      const payload = bodyOf(request)
      const receivedAt = app.now()
      const topic = format === 'chirpstack' ? chirpstackTopic(payload, request.query.event ?? 'up') : null
      return await store(found, `/integrations/${format}`, payload, decodeAs(format, 'fix', payload, { deviceId: found.id, topic, receivedAt }), receivedAt)
    })
  }
}

function bodyOf (request: FastifyRequest): Buffer {
  return Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
}

/** What the decoder read (`accepted`), and everything refused on the way, by the decoder or the pipeline. */
function summary (batch: DecodedBatch, rejects: Rejection[]) {
  return {
    accepted: { fixes: batch.fixes.length, scans: batch.scans.length, events: batch.events.length + batch.driverEvents.length },
    rejects
  }
}

function basicCredentials (header: string | undefined): [string | undefined, string | undefined] {
  if (header?.startsWith('Basic ') !== true) return [undefined, undefined]
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon < 1 ? [undefined, undefined] : [decoded.slice(0, colon), decoded.slice(colon + 1)]
}

/** The id an OsmAnd request names, even when nothing else in it could be decoded. */
function osmandId (payload: Buffer, isJson: boolean): string | undefined {
  if (!isJson) {
    const params = new URLSearchParams(payload.toString('utf8'))
    return params.get('id') ?? params.get('deviceid') ?? undefined
  }
  try {
    const id = (JSON.parse(payload.toString('utf8')) as { device_id?: unknown }).device_id
    return typeof id === 'string' ? id : undefined
  } catch {
    return undefined
  }
}

/** ChirpStack's HTTP integration names the event in the query; its decoder reads it from the MQTT topic form. */
function chirpstackTopic (payload: Buffer, event: string): string | null {
  try {
    const { deviceInfo } = JSON.parse(payload.toString('utf8')) as { deviceInfo?: { applicationId?: unknown, devEui?: unknown } }
    const app = deviceInfo?.applicationId
    const eui = deviceInfo?.devEui
    return typeof app === 'string' && typeof eui === 'string' ? `application/${app}/device/${eui}/event/${event}` : null
  } catch {
    return null
  }
}

export default ingest
