import type { TimelineEntry } from '../../model.js'
import type { PublicParcel } from '../../tracking/public-view.js'
import type { Sql } from '../sql.js'
import { toTimelineEntry, type TimelineRow } from './timeline.js'

/** A milestone's columns are null for a parcel with none (the LEFT JOIN). */
type Row = {
  [K in keyof TimelineRow]: K extends 'id' | 'code' | 'time' | 'source' ? TimelineRow[K] | null : TimelineRow[K]
} & {
  parcel_id: string
  tracking_number: string
  dest_city: string
  dest_country: string
  dest_lat: number | null
  dest_lon: number | null
  cod_amount: string | null
  cod_currency: string | null
}

/**
 * What a tracking link opens, in one round trip by the link's token (a unique index): the parcel
 * as registered (never the street or the buyer's name) and its milestones in time order, each with
 * its station. Undefined for a token no parcel has.
 */
export async function selectPublicTracking (sql: Sql, token: string): Promise<{ parcel: PublicParcel, timeline: TimelineEntry[] } | undefined> {
  const rows = await sql.query<Row>(
    `SELECT p.id AS parcel_id, p.tracking_number, p.dest_city, p.dest_country, p.dest_lat, p.dest_lon, p.cod_amount, p.cod_currency,
            m.id::text, m.code, m.time, m.source, m.device_id, m.note, m.lat, m.lon, m.vehicle_id, m.detail,
            s.id AS station_id, s.name AS station_name, s.city, s.country, s.timezone
       FROM parcels p
       LEFT JOIN milestones m ON m.parcel_id = p.id
       LEFT JOIN stations s ON s.id = m.station_id
      WHERE p.public_token = $1
      ORDER BY m.time, m.id`,
    [token])
  const [first] = rows
  if (first === undefined) return undefined
  const parcel: PublicParcel = {
    id: first.parcel_id,
    trackingNumber: first.tracking_number,
    destination: { name: null, address: null, city: first.dest_city, postcode: null, country: first.dest_country, lat: first.dest_lat, lon: first.dest_lon },
    codAmount: first.cod_amount,
    codCurrency: first.cod_currency
  }
  const timeline = rows.flatMap(({ id, code, time, source, ...rest }) =>
    id === null || code === null || time === null || source === null ? [] : [toTimelineEntry({ ...rest, id, code, time, source })])
  return { parcel, timeline }
}
