import type { MilestoneCode } from '../../tracking/milestones.js'
import { numberArray, textArray } from '../pg-array.js'
import type { Sql } from '../sql.js'
import { runParts, type WritePart } from '../write-part.js'
import type { FenceCrossing, GeofenceRecord } from '../../model.js'

interface GeofenceRow {
  id: string
  name: string
  kind: GeofenceRecord['kind']
  station_id: string | null
  shape: GeofenceRecord['shape']
  on_enter: MilestoneCode | null
  on_exit: MilestoneCode | null
  created_at: Date
}

const COLUMNS = 'id, name, kind, station_id, shape, on_enter, on_exit, created_at'

function toRecord (row: GeofenceRow): GeofenceRecord {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    stationId: row.station_id,
    shape: row.shape,
    onEnter: row.on_enter,
    onExit: row.on_exit,
    createdAt: row.created_at
  }
}

export async function insertGeofence (sql: Sql, fence: Omit<GeofenceRecord, 'createdAt'>): Promise<GeofenceRecord> {
  const rows = await sql.query<GeofenceRow>(
    `INSERT INTO geofences (id, name, kind, station_id, shape, on_enter, on_exit) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
    [fence.id, fence.name, fence.kind, fence.stationId, JSON.stringify(fence.shape), fence.onEnter, fence.onExit])
  return toRecord(rows[0] as GeofenceRow)
}

export async function selectGeofences (sql: Sql): Promise<GeofenceRecord[]> {
  return (await sql.query<GeofenceRow>(`SELECT ${COLUMNS} FROM geofences ORDER BY id`)).map(toRecord)
}

export async function deleteGeofence (sql: Sql, id: string): Promise<boolean> {
  const rows = await sql.query('DELETE FROM geofences WHERE id = $1 RETURNING id', [id])
  await sql.query('DELETE FROM vehicle_geofences WHERE fence_id = $1', [id])
  return rows.length > 0
}

/** A newer crossing wins over an older one, whatever order they are written in. */
const UPSERT_CROSSINGS = `
INSERT INTO vehicle_geofences (vehicle_id, fence_id, inside, since)
SELECT DISTINCT ON (vehicle_id, fence_id) vehicle_id, fence_id, inside, to_timestamp(ms / 1000.0)
  FROM unnest($1::text[], $2::text[], $3::boolean[], $4::float8[]) WITH ORDINALITY AS t(vehicle_id, fence_id, inside, ms, n)
 ORDER BY vehicle_id, fence_id, ms DESC, n DESC
ON CONFLICT (vehicle_id, fence_id) DO UPDATE SET inside = excluded.inside, since = excluded.since
 WHERE vehicle_geofences.since <= excluded.since`

/** The batch's crossings as a part of its one statement (write-part.ts). */
export function crossingsPart (crossings: readonly FenceCrossing[]): WritePart {
  return {
    ctes: [{ name: 'crossings_upserted', body: UPSERT_CROSSINGS }],
    params: [
      textArray(crossings.map((c) => c.vehicleId)),
      textArray(crossings.map((c) => c.fenceId)),
      `{${crossings.map((c) => (c.inside ? 't' : 'f')).join(',')}}`,
      numberArray(crossings.map((c) => c.time))
    ]
  }
}

export async function upsertCrossings (sql: Sql, crossings: readonly FenceCrossing[]): Promise<void> {
  await runParts(sql, [crossingsPart(crossings)])
}

export async function selectCrossings (sql: Sql): Promise<FenceCrossing[]> {
  const rows = await sql.query<{ vehicle_id: string, fence_id: string, inside: boolean, since: Date }>(
    'SELECT vehicle_id, fence_id, inside, since FROM vehicle_geofences')
  return rows.map((row) => ({ vehicleId: row.vehicle_id, fenceId: row.fence_id, inside: row.inside, time: row.since.getTime() }))
}
