import type { MilestoneCode } from '../../tracking/milestones.js'
import type { Sql } from '../sql.js'

export interface HistoryPoint {
  time: Date
  lat: number
  lon: number
  speed: number | null
  heading: number | null
}

export interface HistoryMilestone {
  time: Date
  code: MilestoneCode
  trackingNumber: string
  lat: number | null
  lon: number | null
  stationId: string | null
}

/**
 * A tracker's fixes in [from, to], oldest first, at most `maxPoints` of them. Over the cap the
 * track is sampled evenly by position in time order: row i is kept when it is the first of its
 * bucket floor(i·(max−1)/(n−1)), which keeps exactly `maxPoints` rows including the first and the
 * last. Read by device_id, not positions.vehicle_id: that column is only set for fixes that arrived
 * after the vehicle was registered, and has no index since 0005.
 */
export async function selectVehicleTrack (
  sql: Sql,
  { deviceId, from, to, maxPoints }: { deviceId: string, from: Date, to: Date, maxPoints: number }
): Promise<{ points: HistoryPoint[], total: number }> {
  if (maxPoints < 2) throw new RangeError(`maxPoints must be at least 2 to keep the first and last fix, not ${maxPoints}`)
  const rows = await sql.query<HistoryPoint & { total: string }>(
    `WITH track AS (
       SELECT time, lat, lon, speed, heading,
              row_number() OVER (ORDER BY time, seq) - 1 AS i,
              count(*) OVER () AS n
         FROM positions
        WHERE device_id = $1 AND time >= $2 AND time <= $3
     )
     SELECT time, lat, lon, speed, heading, n AS total
       FROM track
      WHERE CASE WHEN n <= $4::bigint OR i = 0 THEN true
                 ELSE (i * ($4::bigint - 1)) / (n - 1) <> ((i - 1) * ($4::bigint - 1)) / (n - 1) END
      ORDER BY i`,
    [deviceId, from, to, maxPoints])
  return {
    points: rows.map(({ time, lat, lon, speed, heading }) => ({ time, lat, lon, speed, heading })),
    total: rows.length === 0 ? 0 : Number(rows[0]?.total)
  }
}

/** Milestones recorded with a vehicle (loaded, unloaded, delivered from it…) in [from, to], oldest first. */
export async function selectVehicleMilestones (
  sql: Sql,
  { vehicleId, from, to, limit }: { vehicleId: string, from: Date, to: Date, limit: number }
): Promise<HistoryMilestone[]> {
  const rows = await sql.query<{ time: Date, code: MilestoneCode, tracking_number: string, lat: number | null, lon: number | null, station_id: string | null }>(
    `SELECT m.time, m.code, p.tracking_number, m.lat, m.lon, m.station_id
       FROM milestones m JOIN parcels p ON p.id = m.parcel_id
      WHERE m.vehicle_id = $1 AND m.time >= $2 AND m.time <= $3
      ORDER BY m.time, m.id
      LIMIT $4`,
    [vehicleId, from, to, limit])
  return rows.map((row) => ({
    time: row.time,
    code: row.code,
    trackingNumber: row.tracking_number,
    lat: row.lat,
    lon: row.lon,
    stationId: row.station_id
  }))
}
