import type { TimelineEntry } from '../../model.js'
import type { PublicParcel } from '../../tracking/public-view.js'
import type { LinkFacts } from '../../tracking/tracking-link.js'
import type { Sql } from '../sql.js'
import { toTimelineEntry, type TimelineRow } from './timeline.js'

interface Row {
  parcel_id: string
  tracking_number: string
  dest_city: string
  dest_country: string
  dest_lat: number | null
  dest_lon: number | null
  cod_amount: string | null
  cod_currency: string | null
  /** numeric, which pg hands over as a string */
  ended_ms: string | null
  revoked: boolean
  /** the milestones as one JSON array: a parcel's columns once, not on each of its milestones, and one parse */
  timeline: Array<Omit<TimelineRow, 'time'> & { ms: number }>
}

/**
 * What a tracking link opens, in one round trip by the link's token (a unique index): the parcel
 * as registered (never the street or the buyer's name) and its milestones in time order, each with
 * its station, and what decides whether the link still works (tracking/tracking-link.ts). Undefined
 * for a token no parcel has now.
 */
export async function selectPublicTracking (sql: Sql, token: string): Promise<{ parcel: PublicParcel, timeline: TimelineEntry[], link: LinkFacts } | undefined> {
  const rows = await sql.query<Row>(
    `SELECT p.id AS parcel_id, p.tracking_number, p.dest_city, p.dest_country, p.dest_lat, p.dest_lon, p.cod_amount, p.cod_currency,
            floor(extract(epoch FROM p.ended_at) * 1000) AS ended_ms, p.token_revoked_at IS NOT NULL AS revoked,
            (SELECT coalesce(json_agg(json_build_object(
                      'id', m.id::text, 'code', m.code, 'ms', floor(extract(epoch FROM m.time) * 1000), 'source', m.source,
                      'device_id', m.device_id, 'note', m.note, 'lat', m.lat, 'lon', m.lon, 'vehicle_id', m.vehicle_id, 'detail', m.detail,
                      'station_id', s.id, 'station_name', s.name, 'city', s.city, 'country', s.country, 'timezone', s.timezone)
                    ORDER BY m.time, m.id), '[]')
               FROM milestones m LEFT JOIN stations s ON s.id = m.station_id
              WHERE m.parcel_id = p.id) AS timeline
       FROM parcels p
      WHERE p.public_token = $1`,
    [token], 'public-tracking')
  const [first] = rows
  if (first === undefined) return undefined
  const parcel: PublicParcel = {
    id: first.parcel_id,
    trackingNumber: first.tracking_number,
    destination: { name: null, address: null, city: first.dest_city, postcode: null, country: first.dest_country, lat: first.dest_lat, lon: first.dest_lon },
    codAmount: first.cod_amount,
    codCurrency: first.cod_currency
  }
  const timeline = first.timeline.map(({ ms, ...row }) => toTimelineEntry({ ...row, time: new Date(ms) }))
  return { parcel, timeline, link: { endedAt: first.ended_ms === null ? null : Number(first.ended_ms), revoked: first.revoked } }
}
