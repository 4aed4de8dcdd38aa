import type { TimelineEntry } from '../../model.js'
import type { MilestoneCode, MilestoneDetail } from '../../tracking/milestones.js'
import type { Sql } from '../sql.js'

export interface TimelineRow {
  id: string
  code: MilestoneCode
  time: Date
  source: string
  device_id: string | null
  note: string | null
  lat: number | null
  lon: number | null
  vehicle_id: string | null
  detail: MilestoneDetail | null
  station_id: string | null
  station_name: string | null
  city: string | null
  country: string | null
  timezone: string | null
}

/** A parcel's milestones in time order, each with the place it happened. */
export async function selectTimeline (sql: Sql, parcelId: string): Promise<TimelineEntry[]> {
  const rows = await sql.query<TimelineRow>(
    `SELECT m.id::text, m.code, m.time, m.source, m.device_id, m.note, m.lat, m.lon, m.vehicle_id, m.detail,
            s.id AS station_id, s.name AS station_name, s.city, s.country, s.timezone
       FROM milestones m LEFT JOIN stations s ON s.id = m.station_id
      WHERE m.parcel_id = $1
      ORDER BY m.time, m.id`,
    [parcelId])
  return rows.map(toTimelineEntry)
}

export function toTimelineEntry (row: TimelineRow): TimelineEntry {
  return {
    id: row.id,
    code: row.code,
    time: row.time,
    source: row.source,
    deviceId: row.device_id,
    note: row.note,
    lat: row.lat,
    lon: row.lon,
    vehicleId: row.vehicle_id,
    detail: row.detail,
    station: row.station_id === null
      ? null
      : { id: row.station_id, name: row.station_name ?? row.station_id, city: row.city, country: row.country, timezone: row.timezone }
  }
}
