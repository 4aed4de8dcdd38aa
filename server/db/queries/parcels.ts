import type { MilestoneCode } from '../../tracking/milestones.js'
import type { TrackedMilestone } from '../../tracking/parcel-track.js'
import type { Sql } from '../sql.js'
import { selectRecentTracks } from './active-parcels.js'
import type { Destination, ParcelRecord } from '../../model.js'

interface ParcelRow {
  id: string
  tracking_number: string
  epc: string | null
  gs1_key: string | null
  public_token: string
  merchant_id: string | null
  status: MilestoneCode
  status_at: Date
  dest_name: string | null
  dest_address: string | null
  dest_city: string
  dest_postcode: string | null
  dest_country: string
  dest_lat: number | null
  dest_lon: number | null
  cod_amount: string | null
  cod_currency: string | null
  origin_country: string | null
  last_mile_partner: string | null
  promised_by: Date | null
  created_at: Date
  ended_at: Date | null
}

const COLUMNS = `id, tracking_number, epc, gs1_key, public_token, status, status_at, dest_name, dest_address, dest_city,
  dest_postcode, dest_country, dest_lat, dest_lon, cod_amount, cod_currency, origin_country, last_mile_partner, promised_by, created_at, ended_at, merchant_id`

function toRecord (row: ParcelRow, recent: TrackedMilestone[] = []): ParcelRecord {
  return {
    id: row.id,
    trackingNumber: row.tracking_number,
    epc: row.epc,
    gs1Key: row.gs1_key,
    token: row.public_token,
    merchantId: row.merchant_id,
    status: row.status,
    statusAt: row.status_at,
    destination: {
      name: row.dest_name,
      address: row.dest_address,
      city: row.dest_city,
      postcode: row.dest_postcode,
      country: row.dest_country,
      lat: row.dest_lat,
      lon: row.dest_lon
    },
    codAmount: row.cod_amount,
    codCurrency: row.cod_currency,
    originCountry: row.origin_country,
    lastMilePartner: row.last_mile_partner,
    promisedBy: row.promised_by,
    createdAt: row.created_at,
    endedAt: row.ended_at,
    track: { recent }
  }
}

export interface NewParcel {
  id: string
  trackingNumber: string
  epc: string | null
  gs1Key: string | null
  token: string
  merchantId: string | null
  destination: Destination
  codAmount: number | null
  codCurrency: string | null
  originCountry: string | null
  lastMilePartner: string | null
  promisedBy: Date | null
  createdAt: Date
}

/** A parcel starts life with its first milestone: the shipment information was received. */
export async function insertParcel (sql: Sql, parcel: NewParcel): Promise<ParcelRecord> {
  const d = parcel.destination
  const rows = await sql.query<ParcelRow>(
    `WITH parcel AS (
       INSERT INTO parcels (id, tracking_number, epc, public_token, status, status_at, dest_name, dest_address, dest_city,
                            dest_postcode, dest_country, dest_lat, dest_lon, cod_amount, cod_currency, created_at, gs1_key,
                            origin_country, last_mile_partner, promised_by, merchant_id)
       VALUES ($1, $2, $3, $4, 'info_received', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $5, $15, $16, $17, $18, $19)
       RETURNING ${COLUMNS}
     ), first_milestone AS (
       INSERT INTO milestones (parcel_id, code, time, source) SELECT id, 'info_received', created_at, 'api' FROM parcel
     )
     SELECT * FROM parcel`,
    [parcel.id, parcel.trackingNumber, parcel.epc, parcel.token, parcel.createdAt, d.name, d.address, d.city,
      d.postcode, d.country, d.lat, d.lon, parcel.codAmount, parcel.codCurrency, parcel.gs1Key,
      parcel.originCountry, parcel.lastMilePartner, parcel.promisedBy, parcel.merchantId])
  const row = rows[0] as ParcelRow
  return toRecord(row, [{ code: 'info_received', time: row.created_at.getTime(), stationId: null }])
}

export interface ParcelQuery {
  id?: string
  status?: MilestoneCode
  trackingNumber?: string
  limit: number
  /** Only this merchant's parcels; undefined or null for every merchant's. */
  merchantId?: string | null
  /** Keyset pagination: the createdAt and id of the last parcel of the previous page. */
  before?: { createdAt: Date, id: string }
}

export async function selectParcels (sql: Sql, query: ParcelQuery): Promise<ParcelRecord[]> {
  const rows = await sql.query<ParcelRow>(
    `SELECT ${COLUMNS} FROM parcels
      WHERE ($1::text IS NULL OR status = $1)
        AND ($2::text IS NULL OR tracking_number = $2)
        AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4::uuid))
        AND ($6::uuid IS NULL OR id = $6)
        AND ($7::text IS NULL OR merchant_id = $7)
      ORDER BY created_at DESC, id DESC
      LIMIT $5`,
    [query.status ?? null, query.trackingNumber ?? null, query.before?.createdAt ?? null, query.before?.id ?? null,
      query.limit, query.id ?? null, query.merchantId ?? null])
  return rows.map((row) => toRecord(row))
}

export type ParcelKey = { id: string } | { trackingNumber: string } | { token: string }

/** One parcel by id, tracking number or tracking-link token, with its recent milestones; each is a unique index. */
export async function selectParcel (sql: Sql, key: ParcelKey): Promise<ParcelRecord | undefined> {
  const [column, value] = 'id' in key ? ['id', key.id] : 'trackingNumber' in key ? ['tracking_number', key.trackingNumber] : ['public_token', key.token]
  // an id that is not a UUID names no parcel: asking PostgreSQL would be an error, not a miss
  if (column === 'id' && !UUID.test(value)) return undefined
  const [row] = await sql.query<ParcelRow>(`SELECT ${COLUMNS} FROM parcels WHERE ${column} = $1`, [value])
  if (row === undefined) return undefined
  const tracks = await selectRecentTracks(sql, [row.id])
  return toRecord(row, tracks.get(row.id))
}

/** By id or by tracking number: ops and drivers give either. */
export async function selectParcelByIdOrNumber (sql: Sql, key: string): Promise<ParcelRecord | undefined> {
  return await selectParcel(sql, { id: key }) ?? await selectParcel(sql, { trackingNumber: key })
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
