import { randomBytes } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { canSee } from '../auth/permissions.js'
import type { AccessConfig } from '../config.js'
import { selectParcelByIdOrNumber } from '../db/queries/parcels.js'
import { revokeTrackingToken, rotateTrackingToken } from '../db/queries/tracking-links.js'
import { Errors } from '../errors.js'
import trackingLinkNews from '../plugins/tracking-links.js'
import { linkExpiresAt, linkState } from '../tracking/tracking-link.js'
import type { ParcelRecord } from '../model.js'
import { dateTime, idParams, ops } from './schemas.js'

export type TrackingLinkOptions = Pick<AccessConfig, 'trackingLinkDays'>

const rotatedSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    trackingNumber: { type: 'string' },
    trackingUrl: { type: 'string', description: 'the new page to give the buyer; the one before it stopped working' },
    expiresAt: { ...dateTime, type: ['string', 'null'], description: 'when the link stops by itself: TRACKING_LINK_DAYS after the journey ended; null while the parcel is on its way' }
  }
} as const

/**
 * The buyer's link, taken back or replaced: for a link that went where it should not have. With
 * the news plugin, which tells every instance, so that the old token stops everywhere at once;
 * registered before the public tracking routes, which listen to it.
 */
export default fp<TrackingLinkOptions>(async (app, { trackingLinkDays }) => {
  await app.register(trackingLinkNews)

  /** Another merchant's parcel does not exist, as far as this merchant can tell. */
  const read = async (request: FastifyRequest, idOrTrackingNumber: string): Promise<ParcelRecord> => {
    const parcel = await selectParcelByIdOrNumber(app.db.sql, idOrTrackingNumber)
    if (parcel === undefined || !canSee(request.principal, parcel.merchantId)) throw new Errors.NotFound('parcel', idOrTrackingNumber)
    return parcel
  }

  app.post<{ Params: { id: string } }>('/api/parcels/:id/tracking-link/rotate', {
    config: { access: 'parcels:write' },
    schema: {
      tags: ['parcels'],
      summary: 'Give the parcel a new tracking link; the old one stops working at once, on every instance',
      description: 'For a link that was forwarded where it should not have been. The old link\'s page then says it was replaced (410, TS_LINK_REPLACED); a revoked link comes back this way, as a new one. A link that has expired (TRACKING_LINK_DAYS after the journey ended) cannot be renewed: 409.',
      ...ops,
      params: idParams,
      response: { 200: rotatedSchema }
    }
  }, async (request) => {
    const parcel = await read(request, request.params.id)
    const endedAt = parcel.endedAt?.getTime() ?? null
    if (linkState({ endedAt, revoked: false }, app.now(), trackingLinkDays) === 'expired') {
      throw new Errors.WrongState(`the journey of parcel "${parcel.trackingNumber}" ended more than ${trackingLinkDays} days ago (TRACKING_LINK_DAYS): its tracking link is over`)
    }
    // as registration makes them: 128 random bits, the link's only key
    const token = randomBytes(16).toString('base64url')
    const rotated = await rotateTrackingToken(app.db.sql, parcel.id, token)
    if (rotated === undefined) throw new Errors.NotFound('parcel', request.params.id)
    app.trackingLinks.retired(rotated.retired, 'replaced')
    const expiresAt = linkExpiresAt(endedAt, trackingLinkDays)
    return {
      id: parcel.id,
      trackingNumber: parcel.trackingNumber,
      trackingUrl: `${request.protocol}://${request.host}/t/${token}`,
      expiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString()
    }
  })

  app.delete<{ Params: { id: string } }>('/api/parcels/:id/tracking-link', {
    config: { access: 'parcels:write' },
    schema: {
      tags: ['parcels'],
      summary: 'Take the parcel\'s tracking link back: it answers 410 (TS_LINK_REVOKED) from now on, on every instance',
      description: 'Open pages of it are told at once. Rotating the link (POST …/tracking-link/rotate) gives the parcel a working one again. Revoking twice is the same as once.',
      ...ops,
      params: idParams,
      response: { 204: { type: 'null', description: 'revoked' } }
    }
  }, async (request, reply) => {
    const parcel = await read(request, request.params.id)
    const revoked = await revokeTrackingToken(app.db.sql, parcel.id)
    if (revoked === undefined) throw new Errors.NotFound('parcel', request.params.id)
    app.trackingLinks.retired(revoked.token, 'revoked')
    return await reply.code(204).send()
  })
}, { name: 'trackstream-tracking-link-routes', dependencies: ['trackstream-db'] })
