import type { FastifyPluginAsync } from 'fastify'
import { connectHints } from '../../gateway/connect-hints.js'
import { DEVICE_FORMATS, FORMATS_BY_KIND, type DeviceFormat } from '../../gateway/decoders/format.js'
import { generateSecret, hashSecret } from '../../gateway/secrets.js'
import { REJECT_REASONS, type RejectReason } from '../../gateway/rejects.js'
import { DEVICE_ID_PATTERN } from '../../proto/topics.js'
import { insertDevice, updateDevice } from '../db/queries/devices.js'
import { selectDeviceEvents } from '../db/queries/device-events.js'
import { selectDeviceHealth, type StoredHealth } from '../db/queries/device-health.js'
import { selectTrack } from '../db/queries/positions.js'
import { selectRejects } from '../db/queries/rejects.js'
import { isDatabaseUnavailable, isUniqueViolation } from '../db/sql.js'
import { Errors } from '../errors.js'
import { dateTime, idParams, listOf, nullableNumber, nullableString, ops } from './schemas.js'
import type { DeviceKind, DeviceRecord } from '../model.js'

const rejectCounts = {
  type: 'object',
  description: 'refusals by reason since the server started',
  properties: Object.fromEntries(Object.keys(REJECT_REASONS).map((reason) => [reason, { type: 'integer' }]))
} as const

const since = { ...dateTime, description: 'when the device said so' }
const healthSchema = {
  type: ['object', 'null'],
  description: 'what the device last said of its own health: a reader\'s heartbeat, antenna ports, GPI/GPO pins, inventory state and alerts (newest wins, kept across restarts); null while the database cannot be read',
  properties: {
    online: { type: ['object', 'null'], properties: { online: { type: 'boolean' }, since } },
    lastHeartbeatAt: { type: ['string', 'null'], format: 'date-time' },
    antennas: { type: 'array', items: { type: 'object', properties: { port: { type: 'integer' }, connected: { type: 'boolean' }, since } } },
    gpi: { type: 'array', items: { type: 'object', properties: { pin: { type: 'integer' }, state: { type: 'string' }, since } } },
    gpo: { type: 'array', items: { type: 'object', properties: { pin: { type: 'integer' }, state: { type: 'string' }, since } } },
    inventory: { type: ['object', 'null'], properties: { status: { type: 'string', description: 'idle, running, armed or terminated (Impinj); unknown when not said' }, since } },
    alerts: { type: 'array', description: 'the newest alert of each level', items: { type: 'object', properties: { level: { type: 'string' }, message: { type: 'string' }, since } } }
  }
} as const

const deviceSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    kind: { type: 'string', enum: ['tracker', 'reader', 'network_server'] },
    format: { type: 'string', enum: DEVICE_FORMATS },
    owner: { type: 'string' },
    scope: nullableString,
    name: nullableString,
    disabled: { type: 'boolean' },
    createdAt: dateTime,
    connect: {
      type: 'object',
      description: 'what to put in the device\'s settings',
      properties: {
        mqttTopics: { type: 'array', items: { type: 'string' } },
        httpPath: nullableString,
        note: { type: 'string' }
      }
    },
    status: {
      type: 'object',
      description: 'since the server started',
      properties: {
        connected: { type: 'boolean' },
        lastSeenAt: { type: ['string', 'null'], format: 'date-time' },
        messages: { type: 'integer' },
        fixes: { type: 'integer' },
        scans: { type: 'integer' },
        events: { type: 'integer' },
        duplicates: { type: 'integer' },
        rejects: rejectCounts
      }
    },
    health: healthSchema
  }
} as const

const withSecret = {
  ...deviceSchema,
  properties: {
    ...deviceSchema.properties,
    secret: { type: 'string', description: 'The MQTT password. Shown once: only its hash is stored.' }
  }
} as const

const positionSchema = {
  type: 'object',
  properties: {
    time: dateTime,
    lat: { type: 'number' },
    lon: { type: 'number' },
    speed: nullableNumber,
    heading: nullableNumber,
    accuracy: nullableNumber,
    battery: nullableNumber,
    vehicleId: nullableString,
    receivedAt: dateTime
  }
} as const

const devices: FastifyPluginAsync = async (app) => {
  const { engine, stats } = app
  const { config } = engine.store

  const view = ({ secretHash: _secretHash, ...device }: DeviceRecord, health: StoredHealth[] | null = []) => {
    const counters = stats.device(device.id)
    return {
      ...device,
      health: health === null ? null : healthView(health),
      connect: connectHints(device),
      status: {
        connected: app.gateway.isConnected(device.id),
        lastSeenAt: counters?.lastSeenAt == null ? null : new Date(counters.lastSeenAt).toISOString(),
        messages: counters?.messages ?? 0,
        fixes: counters?.fixes ?? 0,
        scans: counters?.scans ?? 0,
        events: counters?.events ?? 0,
        duplicates: counters?.duplicates ?? 0,
        rejects: counters?.rejects ?? {}
      }
    }
  }
  const find = (id: string): DeviceRecord => {
    const device = config.device(id)
    if (device === undefined) throw new Errors.NotFound('device', id)
    return device
  }

  app.post<{ Body: NewDeviceBody }>('/api/devices', {
    config: { access: 'fleet:write' },
    schema: {
      tags: ['devices'],
      summary: 'Register a tracker, an RFID reader or a LoRaWAN network server; returns its secret once',
      description: 'LoRaWAN trackers are registered as trackers whose id is their DevEUI (lower-case hex); their network server is registered as a network_server with the application it reports for as scope.',
      ...ops,
      body: {
        type: 'object',
        required: ['id', 'kind'],
        additionalProperties: false,
        properties: {
          id: { type: 'string', pattern: DEVICE_ID_PATTERN, description: 'the MQTT username, e.g. the IMEI, serial number or DevEUI' },
          kind: { type: 'string', enum: ['tracker', 'reader', 'network_server'] },
          format: { type: 'string', enum: DEVICE_FORMATS, description: 'what the device speaks; default trackstream (ttn for a network server)' },
          owner: { type: 'string', pattern: DEVICE_ID_PATTERN, description: 'the tenant; default "default"' },
          scope: { type: 'string', pattern: '^[^/+#\\s]{1,128}$', description: 'network servers only: TTS application id with tenant (app@tenant), or ChirpStack application id' },
          name: { type: 'string', maxLength: 200 }
        }
      },
      response: { 201: withSecret }
    }
  }, async (request, reply) => {
    const { id, kind, owner = 'default', scope = null, name = null } = request.body
    const format = request.body.format ?? (kind === 'network_server' ? 'ttn' : 'trackstream')
    checkShape(kind, format, scope)
    const secret = generateSecret()
    let device: DeviceRecord
    try {
      device = await insertDevice(app.db.sql, { id, kind, format, owner, scope, name, secretHash: hashSecret(secret) })
    } catch (error) {
      if (isUniqueViolation(error)) throw new Errors.AlreadyExists('device (or network server for that scope)', scope ?? id)
      throw error
    }
    engine.putDevice(device)
    stats.forgetUnknown(device.id)
    return await reply.code(201).send({ ...view(device), secret })
  })

  /**
   * Devices with what they last said of their health, read in one query for all of them. While
   * the database is away the rest (connected, counters, refusals) is what tells why, so it is
   * still answered, with health null.
   */
  const views = async (found: DeviceRecord[]) => {
    const rows = await selectDeviceHealth(app.db.sql, found.map((device) => device.id)).catch((error: unknown) => {
      if (isDatabaseUnavailable(error)) return null
      throw error
    })
    if (rows === null) return found.map((device) => view(device, null))
    const health = new Map<string, StoredHealth[]>()
    for (const row of rows) health.set(row.deviceId, [...health.get(row.deviceId) ?? [], row])
    return found.map((device) => view(device, health.get(device.id)))
  }

  app.get('/api/devices', {
    config: { access: 'fleet:read' },
    schema: { tags: ['devices'], summary: 'All devices, with their status and health', ...ops, response: { 200: listOf(deviceSchema) } }
  }, async () => ({ items: await views([...config.devices()]) }))

  app.get('/api/devices/unknown', {
    config: { access: 'fleet:read' },
    schema: {
      tags: ['devices'],
      summary: 'Device ids that tried to connect but are not registered, newest first',
      ...ops,
      response: {
        200: listOf({
          type: 'object',
          properties: {
            deviceId: { type: 'string' },
            attempts: { type: 'integer' },
            lastAttemptAt: dateTime,
            lastAddress: nullableString
          }
        })
      }
    }
  }, async () => ({
    items: stats.unknownDevices().map((u) => ({ ...u, lastAttemptAt: new Date(u.lastAttemptAt).toISOString() }))
  }))

  app.get<{ Params: { id: string } }>('/api/devices/:id', {
    config: { access: 'fleet:read' },
    schema: { tags: ['devices'], summary: 'One device, its status and its health', ...ops, params: idParams, response: { 200: deviceSchema } }
  }, async (request) => (await views([find(request.params.id)]))[0])

  app.patch<{ Params: { id: string }, Body: { name?: string | null, disabled?: boolean, format?: DeviceFormat } }>('/api/devices/:id', {
    config: { access: 'fleet:write' },
    schema: {
      tags: ['devices'],
      summary: 'Rename, disable, re-enable or change the format of a device; disabling disconnects it',
      ...ops,
      params: idParams,
      body: {
        type: 'object',
        additionalProperties: false,
        properties: {
          name: { type: ['string', 'null'], maxLength: 200 },
          disabled: { type: 'boolean' },
          format: { type: 'string', enum: DEVICE_FORMATS }
        }
      },
      response: { 200: deviceSchema }
    }
  }, async (request) => {
    const existing = find(request.params.id)
    if (request.body.format !== undefined) checkShape(existing.kind, request.body.format, existing.scope)
    const device = await updateDevice(app.db.sql, request.params.id, request.body)
    if (device === undefined) throw new Errors.NotFound('device', request.params.id)
    engine.putDevice(device)
    if (device.disabled) app.gateway.disconnect(device.id)
    return view(device)
  })

  app.post<{ Params: { id: string } }>('/api/devices/:id/secret', {
    config: { access: 'fleet:write' },
    schema: {
      tags: ['devices'],
      summary: 'Issue a new secret; the old one stops working and the device is disconnected',
      ...ops,
      params: idParams,
      response: { 200: withSecret }
    }
  }, async (request) => {
    find(request.params.id)
    const secret = generateSecret()
    const device = await updateDevice(app.db.sql, request.params.id, { secretHash: hashSecret(secret) })
    if (device === undefined) throw new Errors.NotFound('device', request.params.id)
    engine.putDevice(device)
    app.gateway.disconnect(device.id)
    return { ...view(device), secret }
  })

  app.get<{ Params: { id: string }, Querystring: { from?: string, to?: string, limit: number } }>('/api/devices/:id/positions', {
    config: { access: 'fleet:read' },
    schema: {
      tags: ['devices'],
      summary: 'A device\'s stored fixes in a time range, oldest first (default: the last 24 hours)',
      ...ops,
      params: idParams,
      querystring: {
        type: 'object',
        properties: { from: dateTime, to: dateTime, limit: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 } }
      },
      response: { 200: listOf(positionSchema) }
    }
  }, async (request) => {
    find(request.params.id)
    const to = request.query.to === undefined ? new Date() : new Date(request.query.to)
    const from = request.query.from === undefined ? new Date(to.getTime() - 86_400_000) : new Date(request.query.from)
    return { items: await selectTrack(app.db.sql, request.params.id, from, to, request.query.limit) }
  })

  app.get<{ Params: { id: string }, Querystring: { limit: number } }>('/api/devices/:id/events', {
    config: { access: 'fleet:read' },
    schema: {
      tags: ['devices'],
      summary: 'What a device reported besides positions and reads, newest first: online/offline, geofence enter/leave, and a reader\'s heartbeats, antenna, GPI/GPO, inventory status and alerts',
      ...ops,
      params: idParams,
      querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } } },
      response: {
        200: listOf({
          type: 'object',
          properties: { time: dateTime, type: { type: 'string' }, detail: { type: 'object', additionalProperties: true }, receivedAt: dateTime }
        })
      }
    }
  }, async (request) => {
    find(request.params.id)
    return { items: await selectDeviceEvents(app.db.sql, request.params.id, request.query.limit) }
  })

  app.get<{ Querystring: { deviceId?: string, limit: number } }>('/api/rejects', {
    config: { access: 'fleet:read' },
    schema: {
      tags: ['devices'],
      summary: 'Messages refused in whole or in part, newest first, with their payloads',
      ...ops,
      querystring: {
        type: 'object',
        properties: { deviceId: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } }
      },
      response: {
        200: listOf({
          type: 'object',
          properties: {
            receivedAt: dateTime,
            deviceId: { type: 'string' },
            topic: { type: 'string' },
            reasons: { type: 'array', items: { type: 'string', enum: Object.keys(REJECT_REASONS) as RejectReason[] } },
            detail: { type: 'string' },
            payloadBase64: nullableString,
            payloadBytes: { type: 'integer' }
          }
        })
      }
    }
  }, async (request) => ({ items: await selectRejects(app.db.sql, request.query.deviceId, request.query.limit) }))
}

interface NewDeviceBody {
  id: string
  kind: DeviceKind
  format?: DeviceFormat
  owner?: string
  scope?: string
  name?: string
}

/** The health rows of one device as the API shows them. */
function healthView (rows: StoredHealth[]) {
  const of = (aspect: StoredHealth['aspect']): StoredHealth[] => rows.filter((row) => row.aspect === aspect)
  const pins = (aspect: 'gpi' | 'gpo') => of(aspect).map((row) => ({ pin: Number(row.key), state: String(row.value.state), since: row.since.toISOString() }))
  const online = of('online')[0]
  const inventory = of('inventory')[0]
  return {
    online: online === undefined ? null : { online: online.value.online === true, since: online.since.toISOString() },
    lastHeartbeatAt: of('heartbeat')[0]?.since.toISOString() ?? null,
    antennas: of('antenna').map((row) => ({ port: Number(row.key), connected: row.value.connected === true, since: row.since.toISOString() }))
      .sort((a, b) => a.port - b.port),
    gpi: pins('gpi'),
    gpo: pins('gpo'),
    inventory: inventory === undefined ? null : { status: String(inventory.value.status ?? 'unknown'), since: inventory.since.toISOString() },
    alerts: of('alert').map((row) => ({ level: row.key, message: String(row.value.message ?? ''), since: row.since.toISOString() }))
  }
}

function checkShape (kind: DeviceKind, format: DeviceFormat, scope: string | null): void {
  const formats: readonly DeviceFormat[] = FORMATS_BY_KIND[kind]
  if (!formats.includes(format)) throw new Errors.BadShape(`a ${kind} speaks ${formats.join(', ')}, not ${format}`)
  if (kind === 'network_server' && scope === null) throw new Errors.BadShape('a network server needs the scope (application) it reports for')
  if (kind !== 'network_server' && scope !== null) throw new Errors.BadShape('only a network server has a scope')
}

export default devices
