import { randomBytes, randomUUID } from 'node:crypto'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { canSee } from '../auth/permissions.js'
import { merchantExists } from '../db/queries/merchants.js'
import { insertParcel, selectParcelByIdOrNumber, selectParcels } from '../db/queries/parcels.js'
import { selectTimeline } from '../db/queries/timeline.js'
import { gs1KeyOf, isValidSscc, ssccKey } from '../../gateway/epc.js'
import { isUniqueViolation, withTransaction } from '../db/sql.js'
import { insertOutbox } from '../db/queries/insert-outbox.js'
import { Errors } from '../errors.js'
import { ATTEMPT_REASONS, MILESTONE_CODES, MILESTONES, subtagOf, type MilestoneCode, type MilestoneDetail } from '../tracking/milestones.js'
import { parcelRef } from '../tracking/custody.js'
import { ATTEMPT_REASON_CODES, type AttemptReason } from '../../proto/types.js'
import { driverEventJsonSchema } from '../../proto/json-schema.js'
import {
  countrySchema, dateTime, idParams, idSchema, latSchema, listOf, lonSchema, milestoneCode, nullableNumber,
  nullableString, ops
} from './schemas.js'
import { emptyWriteSet, type ActiveParcel, type Destination, type ParcelRecord } from '../model.js'

const destinationSchema = {
  type: 'object',
  required: ['city', 'country'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', maxLength: 200 },
    address: { type: 'string', maxLength: 500 },
    city: { type: 'string', minLength: 1, maxLength: 200 },
    postcode: { type: 'string', maxLength: 32 },
    country: countrySchema,
    lat: latSchema,
    lon: lonSchema
  }
} as const

const parcelSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    trackingNumber: { type: 'string' },
    merchantId: { ...nullableString, description: 'whose parcel it is; null for the operator\'s own' },
    epc: nullableString,
    gs1Key: { ...nullableString, description: 'sscc:<SSCC-18> or sgtin:<GTIN-14>.<serial>: any tag encoding it is this parcel' },
    status: { type: 'string' },
    statusAt: dateTime,
    endedAt: { type: ['string', 'null'], format: 'date-time', description: 'when its journey ended (delivered, returned); null while on its way' },
    destination: {
      type: 'object',
      properties: {
        name: nullableString,
        address: nullableString,
        city: { type: 'string' },
        postcode: nullableString,
        country: { type: 'string' },
        lat: nullableNumber,
        lon: nullableNumber
      }
    },
    cashOnDelivery: {
      type: ['object', 'null'],
      properties: { amount: { type: 'string' }, currency: { type: 'string' } }
    },
    trackingUrl: { type: 'string', description: 'the page to give the buyer; the link is the only key to it' },
    originCountry: nullableString,
    lastMilePartner: nullableString,
    promisedBy: { type: ['string', 'null'], format: 'date-time' },
    createdAt: dateTime,
    aboard: {
      type: ['object', 'null'],
      description: 'the vehicle it rides on, and the containers it is packed in, nearest first',
      properties: { vehicleId: { type: 'string' }, via: { type: 'array', items: { type: 'string' } } }
    },
    position: {
      type: ['object', 'null'],
      description: 'where it is now: its vehicle\'s latest fix, while it rides one',
      properties: { lat: { type: 'number' }, lon: { type: 'number' }, time: dateTime, source: { type: 'string' } }
    }
  }
} as const

const timelineSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    code: { type: 'string' },
    time: dateTime,
    source: { type: 'string' },
    deviceId: nullableString,
    note: nullableString,
    lat: nullableNumber,
    lon: nullableNumber,
    vehicleId: nullableString,
    tag: { type: 'string', description: 'InfoReceived, InTransit, OutForDelivery, AttemptFail, Delivered, AvailableForPickup or Exception' },
    subtag: { type: 'string', description: 'e.g. Delivered_004: delivered and cash collected' },
    detail: {
      type: ['object', 'null'],
      properties: {
        reason: { type: 'string' },
        proof: { type: 'object', properties: { kind: { type: 'string' }, ref: { type: 'string' } } },
        cod: { type: 'object', properties: { amount: { type: 'string' }, currency: { type: 'string' }, method: { type: 'string', enum: ['cash', 'card', 'qr'] } } },
        recipient: { type: 'string' }
      }
    },
    station: {
      type: ['object', 'null'],
      properties: {
        id: { type: 'string' },
        name: { type: 'string' },
        city: nullableString,
        country: nullableString,
        timezone: nullableString
      }
    }
  }
} as const

interface NewParcelBody {
  trackingNumber: string
  epc?: string
  sscc?: string
  destination: Partial<Destination> & Pick<Destination, 'city' | 'country'>
  cashOnDelivery?: { amount: number, currency: string }
  originCountry?: string
  lastMilePartner?: string
  promisedBy?: string
  merchantId?: string
}

interface MilestoneBody {
  code: MilestoneCode
  time?: string
  stationId?: string
  lat?: number
  lon?: number
  note?: string
  reason?: AttemptReason
  proof?: { kind: 'photo' | 'signature' | 'pin', ref: string }
  cod?: { amount: string, currency: string, method?: 'cash' | 'card' | 'qr' }
  recipient?: string
}

const parcels: FastifyPluginAsync = async (app) => {
  const { engine } = app
  const { custody } = engine.store

  const view = (parcel: ParcelRecord, request: FastifyRequest) => ({
    ...parcel,
    // the buyer's name and address are personal data: only roles that deliver or settle claims see them
    destination: request.principal?.permissions.has('pii:read') === true ? parcel.destination : { ...parcel.destination, name: null, address: null },
    cashOnDelivery: parcel.codAmount === null ? null : { amount: parcel.codAmount, currency: parcel.codCurrency },
    trackingUrl: `${request.protocol}://${request.host}/t/${parcel.token}`,
    ...whereIs(parcel.id)
  })

  /** A parcel on a vehicle is where the vehicle is. */
  const whereIs = (parcelId: string) => {
    const vehicleId = custody.vehicleOf(parcelRef(parcelId))
    const position = engine.store.vehiclePosition(vehicleId)
    return {
      aboard: vehicleId === null ? null : { vehicleId, via: custody.containersOf(parcelRef(parcelId)) },
      position: position === undefined ? null : { lat: position.lat, lon: position.lon, time: new Date(position.time).toISOString(), source: 'vehicle' }
    }
  }

  const visibleTo = (request: FastifyRequest, parcel: ParcelRecord): boolean => canSee(request.principal, parcel.merchantId)

  /** A merchant's parcels are its own; the operator names the merchant, or none. */
  const ownerOf = async (request: FastifyRequest, named: string | undefined): Promise<string | null> => {
    const own = request.principal?.merchantId ?? null
    if (own !== null) {
      if (named !== undefined && named !== own) throw new Errors.BadShape(`this key registers parcels for merchant "${own}" only`)
      return own
    }
    if (named !== undefined && !await merchantExists(app.db.sql, named)) throw new Errors.UnknownReference('merchant', named)
    return named ?? null
  }

  /** From the database by id or tracking number: ops paste either, and most parcels are history. */
  const read = async (idOrTrackingNumber: string, request: FastifyRequest): Promise<ParcelRecord> => {
    const parcel = await selectParcelByIdOrNumber(app.db.sql, idOrTrackingNumber)
    // another merchant's parcel does not exist, as far as this merchant can tell
    if (parcel === undefined || !visibleTo(request, parcel)) throw new Errors.NotFound('parcel', idOrTrackingNumber)
    return parcel
  }

  /** As the engine holds it, for a command: on its way, or read back for a late word. */
  const find = async (idOrTrackingNumber: string, request: FastifyRequest): Promise<ActiveParcel> => {
    if (request.principal?.merchantId !== null) await read(idOrTrackingNumber, request)
    const parcel = await app.findParcel(idOrTrackingNumber)
    if (parcel === undefined) throw new Errors.NotFound('parcel', idOrTrackingNumber)
    return parcel
  }

  app.get('/api/milestone-codes', {
    config: { access: 'parcels:read' },
    schema: {
      tags: ['parcels'],
      summary: 'The milestone vocabulary, each code with its tracking tag and sub-tag (InTransit_003, Delivered_004, …) and its GS1 EPCIS 2.0 business step and disposition',
      ...ops,
      response: {
        200: {
          type: 'object',
          properties: {
            items: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  code: { type: 'string' },
                  label: { type: 'string' },
                  publicVisible: { type: 'boolean' },
                  tag: { type: 'string' },
                  subtag: { type: 'string' },
                  bizStep: { type: 'string', description: 'CBV 2.0 business step; as a URI: https://ref.gs1.org/cbv/BizStep-<bizStep>' },
                  disposition: { type: 'string', description: 'CBV 2.0 disposition; as a URI: https://ref.gs1.org/cbv/Disp-<disposition>' },
                  exception: { type: 'boolean' },
                  final: { type: 'boolean' }
                }
              }
            },
            attemptReasons: {
              type: 'array',
              items: { type: 'object', properties: { code: { type: 'string' }, label: { type: 'string' }, subtag: { type: 'string' } } }
            }
          }
        }
      }
    }
  }, async () => ({
    items: MILESTONE_CODES.map((code) => ({ code, ...MILESTONES[code] })),
    attemptReasons: ATTEMPT_REASON_CODES.map((code) => ({ code, ...ATTEMPT_REASONS[code] }))
  }))

  app.post<{ Body: NewParcelBody }>('/api/parcels', {
    config: { access: 'parcels:write' },
    schema: {
      tags: ['parcels'],
      summary: 'Register a parcel; returns the tracking link for the buyer',
      ...ops,
      body: {
        type: 'object',
        required: ['trackingNumber', 'destination'],
        additionalProperties: false,
        properties: {
          trackingNumber: { type: 'string', minLength: 1, maxLength: 64 },
          epc: { type: 'string', pattern: '^([0-9A-Fa-f]{2}){2,62}$', description: 'the RFID tag on the parcel, hexadecimal' },
          sscc: { type: 'string', pattern: '^\\d{18}$', description: 'the SSCC on the parcel\'s label: matches any SSCC-96 tag that encodes it' },
          destination: destinationSchema,
          originCountry: { ...countrySchema, description: 'where it ships from; with the destination country it names the lane' },
          lastMilePartner: { type: 'string', minLength: 1, maxLength: 100, description: 'the local delivery partner, for KPIs' },
          merchantId: { type: 'string', maxLength: 64, description: 'whose parcel it is; a merchant\'s own key sets it to its merchant' },
          promisedBy: { ...dateTime, description: 'the delivery date promised to the buyer; on time means delivered by then' },
          cashOnDelivery: {
            type: 'object',
            required: ['amount', 'currency'],
            additionalProperties: false,
            properties: {
              amount: { type: 'number', minimum: 0, maximum: 999_999_999_999.99, description: 'at most 12 digits before the decimal point, 2 after' },
              currency: { type: 'string', pattern: '^[A-Z]{3}$', description: 'ISO 4217' }
            }
          }
        }
      },
      response: { 201: parcelSchema }
    }
  }, async (request, reply) => {
    const { trackingNumber, epc, sscc, destination: d, cashOnDelivery, originCountry = null, lastMilePartner = null, promisedBy } = request.body
    const merchantId = await ownerOf(request, request.body.merchantId)
    if (sscc !== undefined && !isValidSscc(sscc)) throw new Errors.BadShape(`SSCC ${sscc} has a wrong check digit`)
    const tagKey = epc === undefined ? null : gs1KeyOf(epc)
    if (sscc !== undefined && tagKey !== null && tagKey !== ssccKey(sscc)) {
      throw new Errors.BadShape(`the EPC encodes ${tagKey}, not the SSCC ${sscc}`)
    }
    let parcel: ParcelRecord
    try {
      // the parcel, its first milestone and that milestone's webhook event commit together
      parcel = await withTransaction(app.db.pool, async (sql) => {
        const created = await insertParcel(sql, {
          id: randomUUID(),
          trackingNumber,
          epc: epc?.toUpperCase() ?? null,
          gs1Key: sscc === undefined ? tagKey : ssccKey(sscc),
          // 128 random bits: the link is the only credential a buyer has, so it must not be guessable
          token: randomBytes(16).toString('base64url'),
          merchantId,
          destination: {
            name: d.name ?? null,
            address: d.address ?? null,
            city: d.city,
            postcode: d.postcode ?? null,
            country: d.country,
            lat: d.lat ?? null,
            lon: d.lon ?? null
          },
          codAmount: cashOnDelivery?.amount ?? null,
          codCurrency: cashOnDelivery?.currency ?? null,
          originCountry,
          lastMilePartner,
          promisedBy: promisedBy === undefined ? null : new Date(promisedBy),
          createdAt: new Date(app.now())
        })
        await insertOutbox(sql, [{ parcelId: created.id, code: 'info_received', time: created.createdAt.getTime(), stationId: null, lat: null, lon: null, source: 'api', deviceId: null, vehicleId: null, detail: null, note: null }])
        return created
      })
    } catch (error) {
      if (isUniqueViolation(error)) throw new Errors.AlreadyExists('parcel with this tracking number or EPC', trackingNumber)
      throw error
    }
    engine.admit(parcel)
    return await reply.code(201).send(view(parcel, request))
  })

  app.get<{ Querystring: { status?: MilestoneCode, trackingNumber?: string, limit: number, before?: string } }>('/api/parcels', {
    config: { access: 'parcels:read', auditRead: 'parcel list' },
    schema: {
      tags: ['parcels'],
      summary: 'Parcels, newest first; page with `before` = the `next` of the previous page',
      ...ops,
      querystring: {
        type: 'object',
        properties: {
          status: milestoneCode,
          trackingNumber: { type: 'string' },
          limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
          before: { type: 'string', description: 'cursor' }
        }
      },
      response: {
        200: {
          type: 'object',
          properties: { items: { type: 'array', items: parcelSchema }, next: nullableString }
        }
      }
    }
  }, async (request) => {
    const { limit, before } = request.query
    const found = await selectParcels(app.db.sql, { ...request.query, merchantId: request.principal?.merchantId ?? null, before: decodeCursor(before) })
    const last = found.length === limit ? found.at(-1) : undefined
    return {
      items: found.map((parcel) => view(parcel, request)),
      next: last === undefined ? null : encodeCursor(last)
    }
  })

  app.get<{ Params: { id: string } }>('/api/parcels/:id', {
    config: { access: 'parcels:read', auditRead: 'parcel' },
    schema: {
      tags: ['parcels'],
      summary: 'One parcel, by id or tracking number',
      ...ops,
      params: idParams,
      response: { 200: parcelSchema }
    }
  }, async (request) => view(await read(request.params.id, request), request))

  app.get<{ Params: { id: string } }>('/api/parcels/:id/timeline', {
    config: { access: 'parcels:read' },
    schema: {
      tags: ['parcels'],
      summary: 'Every milestone of a parcel, in time order, with where it happened',
      ...ops,
      params: idParams,
      response: { 200: listOf(timelineSchema) }
    }
  }, async (request) => ({
    items: (await selectTimeline(app.db.sql, (await read(request.params.id, request)).id)).map((entry) => ({
      ...entry,
      tag: MILESTONES[entry.code].tag,
      subtag: subtagOf(entry.code, entry.detail)
    }))
  }))

  app.post<{ Params: { id: string }, Body: MilestoneBody }>('/api/parcels/:id/milestones', {
    config: { access: 'parcels:write' },
    schema: {
      tags: ['parcels'],
      summary: 'Record a milestone by hand or from another system (a carrier, customs, a pickup point)',
      description: 'Any code of the vocabulary (GET /api/milestone-codes). A failed attempt may carry its reason; a delivery its proof, recipient and the cash collected. Without lat/lon the milestone is placed at the station, or where the parcel\'s vehicle is.',
      ...ops,
      params: idParams,
      body: {
        type: 'object',
        required: ['code'],
        additionalProperties: false,
        properties: {
          code: milestoneCode,
          time: { ...dateTime, description: 'defaults to now' },
          stationId: idSchema,
          lat: latSchema,
          lon: lonSchema,
          note: { type: 'string', maxLength: 1000 },
          reason: { type: 'string', enum: ATTEMPT_REASON_CODES },
          proof: driverEventJsonSchema.properties.proof,
          cod: {
            type: 'object',
            required: ['amount', 'currency'],
            additionalProperties: false,
            properties: {
              amount: { type: 'string', pattern: '^\\d{1,12}(\\.\\d{1,4})?$' },
              currency: { type: 'string', pattern: '^[A-Z]{3}$' },
              method: { type: 'string', enum: ['cash', 'card', 'qr'], description: 'how it was paid at the door; cash when absent' }
            }
          },
          recipient: { type: 'string', maxLength: 200 }
        }
      },
      response: { 201: { type: 'object', properties: { status: { type: 'string' }, statusAt: dateTime } } }
    }
  }, async (request, reply) => {
    const parcel = await find(request.params.id, request)
    const { code, stationId = null, note = null, lat, lon, reason, proof, cod, recipient } = request.body
    const station = stationId === null ? undefined : engine.store.config.station(stationId)
    if (stationId !== null && station === undefined) throw new Errors.UnknownReference('station', stationId)
    if (cod !== undefined && parcel.codCurrency !== null && cod.currency !== parcel.codCurrency) {
      throw new Errors.BadShape(`cash on delivery for ${parcel.trackingNumber} is in ${parcel.codCurrency}, not ${cod.currency}`)
    }
    const time = request.body.time === undefined ? app.now() : Date.parse(request.body.time)
    const context = { time, source: 'api' as const, deviceId: null, stationId, note }
    const detail: MilestoneDetail = { ...(reason === undefined ? {} : { reason }), ...(proof === undefined ? {} : { proof }), ...(cod === undefined ? {} : { cod }), ...(recipient === undefined ? {} : { recipient }) }
    const effects = engine.recordMilestone(parcel, code, context, Object.keys(detail).length === 0 ? null : detail,
      lat !== undefined && lon !== undefined ? { lat, lon } : station)
    await app.record({ ...emptyWriteSet(), ...effects }, 'the milestone')
    return await reply.code(201).send({ status: parcel.status, statusAt: new Date(parcel.statusAt) })
  })
}

function encodeCursor (parcel: ParcelRecord): string {
  return Buffer.from(`${parcel.createdAt.toISOString()}|${parcel.id}`).toString('base64url')
}

function decodeCursor (cursor: string | undefined): { createdAt: Date, id: string } | undefined {
  if (cursor === undefined) return undefined
  const [time, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|')
  const createdAt = new Date(time ?? '')
  if (Number.isNaN(createdAt.getTime()) || id === undefined || !/^[0-9a-f-]{36}$/.test(id)) {
    throw new Errors.UnknownReference('page cursor', cursor)
  }
  return { createdAt, id }
}

export default parcels
