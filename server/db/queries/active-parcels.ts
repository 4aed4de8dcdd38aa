import type { ActiveParcel } from '../../model.js'
import type { MilestoneCode } from '../../tracking/milestones.js'
import { RECENT_LIMIT, type TrackedMilestone } from '../../tracking/parcel-track.js'
import type { Sql } from '../sql.js'

/**
 * The tracking engine's working set, read at start: the parcels still on their way, in pages, with
 * their recent milestones. Strings that repeat across parcels (lanes, codes, stations, currencies)
 * are interned, so a million parcels hold one copy of each.
 */
export class Interner {
  private readonly pool = new Map<string, string>()

  of<S extends string | null> (value: S): S {
    if (value === null) return value
    const known = this.pool.get(value)
    if (known !== undefined) return known as S
    this.pool.set(value, value)
    return value
  }
}

export interface ActivePage {
  parcels: ActiveParcel[]
  /** Where the next page starts; null after the last. */
  next: { createdAt: number, id: string } | null
}

interface ActiveRow {
  id: string
  tracking_number: string
  epc: string | null
  gs1_key: string | null
  origin_country: string | null
  dest_country: string
  dest_lat: number | null
  dest_lon: number | null
  cod_currency: string | null
  status: MilestoneCode
  status_ms: number
  created_ms: number
}

interface TrackRow {
  parcel_id: string
  code: MilestoneCode
  ms: number
  station_id: string | null
}

/** One page of the parcels on their way, oldest first, by the parcels_active index. */
export async function selectActivePage (sql: Sql, after: ActivePage['next'], limit: number, strings: Interner): Promise<ActivePage> {
  const rows = await sql.query<ActiveRow>(
    `SELECT id, tracking_number, epc, gs1_key, origin_country, dest_country, dest_lat, dest_lon, cod_currency, status,
            floor(extract(epoch FROM status_at) * 1000)::float8 AS status_ms,
            floor(extract(epoch FROM created_at) * 1000)::float8 AS created_ms
       FROM parcels
      WHERE ended_at IS NULL AND ($1::float8 IS NULL OR (created_at, id) > (to_timestamp($1 / 1000.0), $2::uuid))
      ORDER BY created_at, id
      LIMIT $3`,
    [after?.createdAt ?? null, after?.id ?? null, limit])
  const tracks = await selectRecentTracks(sql, rows.map((row) => row.id), strings)
  const parcels = rows.map((row): ActiveParcel => ({
    id: row.id,
    trackingNumber: row.tracking_number,
    epc: row.epc,
    gs1Key: row.gs1_key,
    lane: strings.of(`${row.origin_country ?? '*'}>${row.dest_country}`),
    destination: row.dest_lat === null || row.dest_lon === null ? null : { lat: row.dest_lat, lon: row.dest_lon },
    codCurrency: strings.of(row.cod_currency),
    status: strings.of(row.status),
    statusAt: row.status_ms,
    track: { recent: tracks.get(row.id) ?? [] }
  }))
  const last = rows.at(-1)
  return { parcels, next: rows.length < limit || last === undefined ? null : { createdAt: last.created_ms, id: last.id } }
}

/** Each parcel's newest milestones (at most RECENT_LIMIT), oldest first: what the tracking rules remember. */
export async function selectRecentTracks (sql: Sql, parcelIds: readonly string[], strings = new Interner()): Promise<Map<string, TrackedMilestone[]>> {
  const tracks = new Map<string, TrackedMilestone[]>()
  if (parcelIds.length === 0) return tracks
  const rows = await sql.query<TrackRow>(
    `SELECT parcel_id, code, ms, station_id FROM (
       SELECT parcel_id, code, floor(extract(epoch FROM time) * 1000)::float8 AS ms, station_id, time, id,
              row_number() OVER (PARTITION BY parcel_id ORDER BY time DESC, id DESC) AS newest_first
         FROM milestones WHERE parcel_id = ANY ($1::uuid[])) ranked
      WHERE newest_first <= $2
      ORDER BY parcel_id, time, id`,
    [parcelIds, RECENT_LIMIT])
  for (const row of rows) {
    let list = tracks.get(row.parcel_id)
    if (list === undefined) {
      list = []
      tracks.set(row.parcel_id, list)
    }
    list.push({ code: strings.of(row.code), time: row.ms, stationId: strings.of(row.station_id) })
  }
  return tracks
}

/** The journeys that ended most recently, lane and milestones: what the lanes learn from at start. */
export async function selectRecentJourneys (sql: Sql, limit: number): Promise<Array<{ lane: string, milestones: Array<{ code: MilestoneCode, time: number }> }>> {
  const rows = await sql.query<{ id: string, lane: string, code: MilestoneCode, ms: number }>(
    `WITH ended AS (
       SELECT id, coalesce(origin_country, '*') || '>' || dest_country AS lane
         FROM parcels WHERE ended_at IS NOT NULL ORDER BY ended_at DESC LIMIT $1)
     SELECT e.id, e.lane, m.code, floor(extract(epoch FROM m.time) * 1000)::float8 AS ms
       FROM ended e JOIN milestones m ON m.parcel_id = e.id
      ORDER BY e.id, m.time, m.id`,
    [limit])
  const strings = new Interner()
  const journeys: Array<{ lane: string, milestones: Array<{ code: MilestoneCode, time: number }> }> = []
  let current: { id: string, lane: string, milestones: Array<{ code: MilestoneCode, time: number }> } | undefined
  for (const row of rows) {
    if (current?.id !== row.id) {
      current = { id: row.id, lane: strings.of(row.lane), milestones: [] }
      journeys.push(current)
    }
    current.milestones.push({ code: strings.of(row.code), time: row.ms })
  }
  return journeys
}
