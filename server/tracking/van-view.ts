import { distanceM, type LatLon } from './geo.js'
import { MILESTONES } from './milestones.js'
import type { ParcelTrack } from './parcel-track.js'

/**
 * Where the buyer sees the van. A van out for delivery carries other people's parcels, and where
 * it stops is where they live: far from this buyer the van is shown only as the cell of a coarse
 * grid it is in, and exactly only once it is near this buyer's own address.
 *
 * 50 cells per degree (0.02°): 2.2 km north to south, 2.2 km × cos(latitude) east to west (2.2 km
 * in Bangkok, 1.1 km at 60°N). A cell of a city holds hundreds of stops, so the centre shown says
 * "this part of town" and no stop in it. Integer cells per degree keep the centres exact in
 * decimal, (row + ½) / 50, so nothing finer than the grid shows even in the digits.
 */
export const CELLS_PER_DEGREE = 50

/**
 * Exact within 3 km of the buyer's destination: the last few stops before theirs, a few minutes'
 * drive, when "where is it now" matters. Beyond it the shown centre can be up to ¾ of a cell from
 * the van on each axis (a half cell, plus the hysteresis below): at most 2.4 km, which is why the
 * page draws the coarse van as a 2.5 km circle.
 */
export const PRECISE_WITHIN_M = 3000

/**
 * Once shown in a cell, the van moves to the next only when it is a quarter cell (about 550 m)
 * beyond the edge. Without it a van parked on a cell edge, its GPS jittering by ten metres, would
 * flip between two cells (or four at a corner) and so pin its stop to that edge or corner.
 */
export const HYSTERESIS_CELLS = 0.25

export interface GridCell {
  row: number
  col: number
}

/** The van as a buyer may see it. */
export interface PublicVan {
  lat: number
  lon: number
  /** true: the van's own fix; false: the centre of the coarse cell it is in. */
  precise: boolean
  /** The fix this comes from. */
  time: string
}

const MAX_ROW = 90 * CELLS_PER_DEGREE - 1
const MAX_COL = 180 * CELLS_PER_DEGREE - 1

/** The grid cell a point is in; with `previous`, it stays there until the point is clearly past its edge. */
export function cellOf (point: LatLon, previous?: GridCell): GridCell {
  const y = point.lat * CELLS_PER_DEGREE
  const x = point.lon * CELLS_PER_DEGREE
  if (previous !== undefined &&
    y >= previous.row - HYSTERESIS_CELLS && y <= previous.row + 1 + HYSTERESIS_CELLS &&
    x >= previous.col - HYSTERESIS_CELLS && x <= previous.col + 1 + HYSTERESIS_CELLS) return previous
  // 90° and 180° belong to the cell below them, so every centre is a real coordinate
  return { row: clamp(Math.floor(y), -MAX_ROW - 1, MAX_ROW), col: clamp(Math.floor(x), -MAX_COL - 1, MAX_COL) }
}

export function cellCentre (cell: GridCell): LatLon {
  return { lat: (cell.row + 0.5) / CELLS_PER_DEGREE, lon: (cell.col + 0.5) / CELLS_PER_DEGREE }
}

/**
 * The van for one buyer: its fix when within PRECISE_WITHIN_M of the buyer's destination, the
 * centre of its cell otherwise, and always the cell when the destination has no coordinates.
 * `cell` is the van's current cell (cellOf with its previous one); by default, the plain cell.
 */
export function vanView (position: LatLon & { time: number }, destination: LatLon | null, cell: GridCell = cellOf(position)): PublicVan {
  const time = new Date(position.time).toISOString()
  if (destination !== null && distanceM(position, destination) <= PRECISE_WITHIN_M) {
    return { lat: position.lat, lon: position.lon, precise: true, time }
  }
  const centre = cellCentre(cell)
  return { lat: centre.lat, lon: centre.lon, precise: false, time }
}

/** Whether a buyer would see a difference: the time of a fix alone is not worth a frame. */
export function sameVan (a: PublicVan | null, b: PublicVan | null): boolean {
  if (a === null || b === null) return a === b
  return a.lat === b.lat && a.lon === b.lon && a.precise === b.precise
}

/**
 * Whether the van is on its way to this buyer: the latest step the buyer can see is "out for
 * delivery". Internal steps (loaded, unloaded) do not end it; a failed attempt, a delivery or a
 * return does, since the van is then not coming to them today.
 */
export function outForDelivery (track: ParcelTrack): boolean {
  const recent = track.recent
  for (let i = recent.length - 1; i >= 0; i--) {
    const code = recent[i]?.code
    if (code !== undefined && MILESTONES[code].publicVisible) return code === 'out_for_delivery'
  }
  return false
}

function clamp (value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value))
}
