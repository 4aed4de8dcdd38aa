import type { ActiveParcel, CustodyRow } from '../../model.js'
import { parcelRef } from '../../tracking/custody.js'
import type { MilestoneCode } from '../../tracking/milestones.js'
import { PackedTrack, RECENT_LIMIT, type TrackedMilestone } from '../../tracking/parcel-track.js'
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
  /** with their recent milestones */
  parcels: ActiveParcel[]
  /** where those of them are that ride in nothing now (at a station, or taken off everything) */
  looseCustody: CustodyRow[]
  /** The rest of the range, after this page; null after its last page. */
  next: IdRange | null
}

/** Parcel ids after one (all when null) and up to another (inclusive; no end when null). */
export interface IdRange { after: string | null, upTo: string | null }

/**
 * The id space cut in `parts` by the ids' first hex digit (at most 16), to be read side by side:
 * each part's pages are one walk along the index, and PostgreSQL works on two at once.
 */
export function idRanges (parts: number): IdRange[] {
  const count = Math.max(1, Math.min(16, Math.floor(parts)))
  // the last id before part k's first hex digit
  const before = (k: number): string => `${(Math.floor(16 * k / count) - 1).toString(16)}fffffff-ffff-ffff-ffff-ffffffffffff`
  return Array.from({ length: count }, (_, k) => ({ after: k === 0 ? null : before(k), upTo: k === count - 1 ? null : before(k + 1) }))
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
  /** the newest RECENT_LIMIT milestones, newest first: [code, ms, station] */
  track: Array<[MilestoneCode, number, string | null]>
  custody_ms: number | null
}

interface TrackRow {
  parcel_id: string
  code: MilestoneCode
  ms: number
  station_id: string | null
  id: string
}

/**
 * One page of the parcels on their way, in id order by the parcels_active index, each with its
 * recent milestones and its custody in the same row: one round trip a page, and the milestones as
 * one JSON value a parcel, which Node parses natively, where pg parses every column of every row
 * in JavaScript (it took most of the start-up at a million parcels).
 */
export async function selectActivePage (sql: Sql, range: IdRange, limit: number, strings: Interner): Promise<ActivePage> {
  const rows = await sql.query<ActiveRow>(
    `SELECT p.id, p.tracking_number, p.epc, p.gs1_key, p.origin_country, p.dest_country, p.dest_lat, p.dest_lon, p.cod_currency, p.status,
            floor(extract(epoch FROM p.status_at) * 1000)::float8 AS status_ms,
            (SELECT coalesce(json_agg(json_build_array(m.code, floor(extract(epoch FROM m.time) * 1000), m.station_id)), '[]')
               FROM (SELECT code, time, station_id FROM milestones WHERE parcel_id = p.id ORDER BY time DESC, id DESC LIMIT $3) m) AS track,
            floor(extract(epoch FROM c.since) * 1000)::float8 AS custody_ms
       FROM parcels p
       LEFT JOIN custody c ON c.item = 'parcel:' || p.id AND c.carrier IS NULL
      WHERE p.ended_at IS NULL AND ($1::uuid IS NULL OR p.id > $1::uuid) AND ($4::uuid IS NULL OR p.id <= $4::uuid)
      ORDER BY p.id
      LIMIT $2`,
    [range.after, limit, RECENT_LIMIT, range.upTo])
  const looseCustody: CustodyRow[] = []
  const parcels = rows.map((row): ActiveParcel => {
    if (row.custody_ms !== null) looseCustody.push({ item: parcelRef(row.id), carrier: null, since: row.custody_ms })
    return {
      id: row.id,
      trackingNumber: row.tracking_number,
      epc: row.epc,
      gs1Key: row.gs1_key,
      lane: strings.of(`${row.origin_country ?? '*'}>${row.dest_country}`),
      destination: row.dest_lat === null || row.dest_lon === null ? null : { lat: row.dest_lat, lon: row.dest_lon },
      codCurrency: strings.of(row.cod_currency),
      status: strings.of(row.status),
      statusAt: row.status_ms,
      track: new PackedTrack(row.track, (value) => strings.of(value))
    }
  })
  const last = rows.at(-1)
  return { parcels, looseCustody, next: rows.length < limit || last === undefined ? null : { after: last.id, upTo: range.upTo } }
}

/**
 * Each parcel's newest milestones (at most RECENT_LIMIT), oldest first: what the tracking rules
 * remember. Ids in order make the lookups one walk along milestones_once. One lateral probe per
 * parcel, not `parcel_id = ANY (…)`: PostgreSQL underestimates how many parcels milestones holds
 * (it guessed 36 milestones a parcel, not 8.5, at a million) and turned a 10,000-id page into a
 * parallel scan of the whole table; the LIMIT leaves it no plan but the index.
 */
export async function selectRecentTracks (sql: Sql, parcelIds: readonly string[], strings = new Interner()): Promise<Map<string, TrackedMilestone[]>> {
  const tracks = new Map<string, TrackedMilestone[]>()
  if (parcelIds.length === 0) return tracks
  const rows = await sql.query<TrackRow>(
    `SELECT p.id AS parcel_id, m.code, floor(extract(epoch FROM m.time) * 1000)::float8 AS ms, m.station_id, m.id::text
       FROM unnest($1::uuid[]) AS p(id)
       CROSS JOIN LATERAL (SELECT code, time, station_id, id FROM milestones WHERE parcel_id = p.id
                            ORDER BY time DESC, id DESC LIMIT $2) m`,
    [[...parcelIds].sort(), RECENT_LIMIT])
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

/** A journey's milestones the lanes learn from at start: far more than any journey has. */
const JOURNEY_LIMIT = 100

/** The journeys that ended most recently, lane and milestones: what the lanes learn from at start. */
export async function selectRecentJourneys (sql: Sql, limit: number): Promise<Array<{ lane: string, milestones: Array<{ code: MilestoneCode, time: number }> }>> {
  const ended = await sql.query<{ id: string, lane: string }>(
    `SELECT id, coalesce(origin_country, '*') || '>' || dest_country AS lane
       FROM parcels WHERE ended_at IS NOT NULL ORDER BY ended_at DESC LIMIT $1`,
    [limit])
  if (ended.length === 0) return []
  // code and time only: milestones_once covers them, so no table page is read; LIMIT as in selectRecentTracks
  const rows = await sql.query<{ parcel_id: string, code: MilestoneCode, ms: number }>(
    `SELECT p.id AS parcel_id, m.code, floor(extract(epoch FROM m.time) * 1000)::float8 AS ms
       FROM unnest($1::uuid[]) AS p(id)
       CROSS JOIN LATERAL (SELECT code, time FROM milestones WHERE parcel_id = p.id LIMIT $2) m`,
    [ended.map((parcel) => parcel.id).sort(), JOURNEY_LIMIT])
  const strings = new Interner()
  const journeys = new Map(ended.map(({ id, lane }) => [id, { lane: strings.of(lane), milestones: [] as Array<{ code: MilestoneCode, time: number }> }]))
  for (const row of rows) journeys.get(row.parcel_id)?.milestones.push({ code: strings.of(row.code), time: row.ms })
  for (const journey of journeys.values()) journey.milestones.sort((a, b) => a.time - b.time)
  return [...journeys.values()]
}
