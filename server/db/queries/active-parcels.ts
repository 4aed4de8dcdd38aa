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
  /** The id the next page starts after; null after the last. */
  next: string | null
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
}

interface TrackRow {
  parcel_id: string
  code: MilestoneCode
  ms: number
  station_id: string | null
  id: string
}

/** One page of the parcels on their way, in id order, by the parcels_active index; their tracks are read separately. */
export async function selectActivePage (sql: Sql, after: string | null, limit: number, strings: Interner): Promise<ActivePage> {
  const rows = await sql.query<ActiveRow>(
    `SELECT id, tracking_number, epc, gs1_key, origin_country, dest_country, dest_lat, dest_lon, cod_currency, status,
            floor(extract(epoch FROM status_at) * 1000)::float8 AS status_ms
       FROM parcels
      WHERE ended_at IS NULL AND ($1::uuid IS NULL OR id > $1::uuid)
      ORDER BY id
      LIMIT $2`,
    [after, limit])
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
    track: { recent: [] }
  }))
  return { parcels, next: rows.length < limit ? null : rows.at(-1)?.id ?? null }
}

/**
 * Each parcel's newest milestones (at most RECENT_LIMIT), oldest first: what the tracking rules
 * remember. Ids in order make the lookups one walk along milestones_once; the few milestones of
 * each parcel are put in order here, where it costs nothing, rather than sorted by the database.
 */
export async function selectRecentTracks (sql: Sql, parcelIds: readonly string[], strings = new Interner()): Promise<Map<string, TrackedMilestone[]>> {
  const tracks = new Map<string, TrackedMilestone[]>()
  if (parcelIds.length === 0) return tracks
  const rows = await sql.query<TrackRow>(
    `SELECT parcel_id, code, floor(extract(epoch FROM time) * 1000)::float8 AS ms, station_id, id::text
       FROM milestones WHERE parcel_id = ANY ($1::uuid[])`,
    [[...parcelIds].sort()])
  const byParcel = new Map<string, TrackRow[]>()
  for (const row of rows) {
    const list = byParcel.get(row.parcel_id)
    if (list === undefined) byParcel.set(row.parcel_id, [row])
    else list.push(row)
  }
  for (const [parcelId, list] of byParcel) {
    list.sort((a, b) => a.ms - b.ms || Number(a.id) - Number(b.id))
    tracks.set(parcelId, list.slice(-RECENT_LIMIT).map((row) => ({ code: strings.of(row.code), time: row.ms, stationId: strings.of(row.station_id) })))
  }
  return tracks
}

/** The journeys that ended most recently, lane and milestones: what the lanes learn from at start. */
export async function selectRecentJourneys (sql: Sql, limit: number): Promise<Array<{ lane: string, milestones: Array<{ code: MilestoneCode, time: number }> }>> {
  const ended = await sql.query<{ id: string, lane: string }>(
    `SELECT id, coalesce(origin_country, '*') || '>' || dest_country AS lane
       FROM parcels WHERE ended_at IS NOT NULL ORDER BY ended_at DESC LIMIT $1`,
    [limit])
  if (ended.length === 0) return []
  // code and time only: milestones_once covers them, so no table page is read
  const rows = await sql.query<{ parcel_id: string, code: MilestoneCode, ms: number }>(
    `SELECT parcel_id, code, floor(extract(epoch FROM time) * 1000)::float8 AS ms
       FROM milestones WHERE parcel_id = ANY ($1::uuid[])`,
    [ended.map((parcel) => parcel.id).sort()])
  const strings = new Interner()
  const journeys = new Map(ended.map(({ id, lane }) => [id, { lane: strings.of(lane), milestones: [] as Array<{ code: MilestoneCode, time: number }> }]))
  for (const row of rows) journeys.get(row.parcel_id)?.milestones.push({ code: strings.of(row.code), time: row.ms })
  for (const journey of journeys.values()) journey.milestones.sort((a, b) => a.time - b.time)
  return [...journeys.values()]
}
