import { describe, expect, it } from 'vitest'
import { distanceM, METRES_PER_DEGREE } from '../../server/tracking/geo.js'
import type { MilestoneCode } from '../../server/tracking/milestones.js'
import type { ParcelTrack } from '../../server/tracking/parcel-track.js'
import { CELLS_PER_DEGREE, cellOf, HYSTERESIS_CELLS, outForDelivery, PRECISE_WITHIN_M, sameVan, vanView } from '../../server/tracking/van-view.js'

const T = Date.UTC(2025, 0, 6, 9, 30)
const HOME = { lat: 13.7563, lon: 100.5018 }
const GRID = 1 / CELLS_PER_DEGREE

/** A deterministic stream of numbers in [0, 1): the same points on every run. */
function random (seed: number): () => number {
  let state = seed
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31
    return state / 2 ** 31
  }
}

/** The point `metres` due north of `from`: along a meridian, distance is latitude times a constant. */
const north = (from: { lat: number, lon: number }, metres: number): { lat: number, lon: number } =>
  ({ lat: from.lat + metres / METRES_PER_DEGREE, lon: from.lon })

describe('the van on the buyer\'s map', () => {
  it('shows a far van as the centre of its 0.02° cell, never more precisely', () => {
    const next = random(7)
    for (let i = 0; i < 10_000; i++) {
      const lat = -89.99 + next() * 179.98
      const lon = -179.99 + next() * 359.98
      const van = vanView({ lat, lon, time: T }, null)
      expect(van.precise).toBe(false)
      // a centre is (odd number) / 100: two decimals, the second odd, and nothing after it
      expect(Math.abs(Math.round(van.lat * 100)) % 2).toBe(1)
      expect(Math.abs(Math.round(van.lon * 100)) % 2).toBe(1)
      expect(String(van.lat)).toMatch(/^-?\d+\.\d?\d$/)
      expect(String(van.lon)).toMatch(/^-?\d+\.\d?\d$/)
      // the fix is inside the cell whose centre is shown
      expect(Math.abs(van.lat - lat)).toBeLessThanOrEqual(GRID / 2 + 1e-12)
      expect(Math.abs(van.lon - lon)).toBeLessThanOrEqual(GRID / 2 + 1e-12)
    }
  })

  it('shows the same thing for every fix in a cell: where in it the van is does not show', () => {
    const next = random(11)
    const cellSouthWest = { lat: 13.74, lon: 100.5 }
    const shown = new Set<string>()
    for (let i = 0; i < 1000; i++) {
      const van = vanView({ lat: cellSouthWest.lat + next() * GRID * 0.999, lon: cellSouthWest.lon + next() * GRID * 0.999, time: T }, null)
      shown.add(`${van.lat},${van.lon}`)
    }
    expect([...shown]).toEqual(['13.75,100.51'])
  })

  it('snaps to the cell, not to the nearest round number, and keeps the edges of the world on the map', () => {
    expect(vanView({ lat: 13.7599, lon: 100.5401, time: T }, null)).toMatchObject({ lat: 13.75, lon: 100.55 })
    expect(vanView({ lat: 13.76, lon: 100.54, time: T }, null)).toMatchObject({ lat: 13.77, lon: 100.55 })
    expect(vanView({ lat: -33.8688, lon: -151.2093, time: T }, null)).toMatchObject({ lat: -33.87, lon: -151.21 })
    expect(vanView({ lat: 90, lon: 180, time: T }, null)).toMatchObject({ lat: 89.99, lon: 179.99 })
    expect(vanView({ lat: -90, lon: -180, time: T }, null)).toMatchObject({ lat: -89.99, lon: -179.99 })
  })

  it('shows the exact fix within 3 km of the buyer\'s destination, the cell from just beyond', () => {
    const inside = north(HOME, PRECISE_WITHIN_M - 0.5)
    const outside = north(HOME, PRECISE_WITHIN_M + 0.5)
    expect(distanceM(inside, HOME)).toBeLessThan(PRECISE_WITHIN_M)
    expect(distanceM(outside, HOME)).toBeGreaterThan(PRECISE_WITHIN_M)
    expect(vanView({ ...inside, time: T }, HOME)).toEqual({ lat: inside.lat, lon: inside.lon, precise: true, time: '2025-01-06T09:30:00.000Z' })
    const far = vanView({ ...outside, time: T }, HOME)
    expect(far).toMatchObject({ precise: false, lat: 13.79, lon: 100.51 })
    expect(far.lat).not.toBe(outside.lat)
    // exactly at the threshold counts as within
    expect(vanView({ ...inside, time: T }, inside).precise).toBe(true)
  })

  it('keeps the van coarse everywhere when the destination has no coordinates', () => {
    expect(vanView({ ...HOME, time: T }, null)).toMatchObject({ lat: 13.75, lon: 100.51, precise: false })
  })

  it('does not flip between cells while a van parked at a corner jitters, and moves on once clearly past the edge', () => {
    const corner = { lat: 13.74, lon: 100.52 }
    let cell = cellOf({ lat: corner.lat + 0.00005, lon: corner.lon + 0.00005 })
    const first = cell
    const next = random(3)
    for (let i = 0; i < 500; i++) {
      // 20 m of GPS noise around the corner
      cell = cellOf({ lat: corner.lat + (next() - 0.5) * 0.0004, lon: corner.lon + (next() - 0.5) * 0.0004 }, cell)
      expect(cell).toBe(first)
    }
    // without the memory of the previous cell, the same noise lands in all four cells
    const plain = new Set<string>()
    for (let i = 0; i < 500; i++) {
      const c = cellOf({ lat: corner.lat + (next() - 0.5) * 0.0004, lon: corner.lon + (next() - 0.5) * 0.0004 })
      plain.add(`${c.row},${c.col}`)
    }
    expect(plain.size).toBe(4)
    // a quarter cell north of the edge is still the old cell; a little more is the next one
    const edge = (first.row + 1) / CELLS_PER_DEGREE
    expect(cellOf({ lat: edge + GRID * HYSTERESIS_CELLS - 1e-6, lon: corner.lon + 0.001 }, first)).toBe(first)
    expect(cellOf({ lat: edge + GRID * HYSTERESIS_CELLS + 1e-6, lon: corner.lon + 0.001 }, first)).toEqual({ row: first.row + 1, col: first.col })
    // and the shown centre is still a cell centre, the one the van was last clearly in
    expect(vanView({ lat: edge + 0.001, lon: corner.lon + 0.001, time: T }, null, first)).toMatchObject({ lat: 13.75, lon: 100.53 })
  })

  it('counts a new fix in the same place as no change, whatever its time', () => {
    const a = vanView({ lat: 13.8123, lon: 100.5678, time: T }, HOME)
    const b = vanView({ lat: 13.8150, lon: 100.5650, time: T + 60_000 }, HOME)
    expect(sameVan(a, b)).toBe(true)
    expect(sameVan(a, vanView({ lat: 13.7246, lon: 100.529, time: T }, HOME))).toBe(false)
    expect(sameVan(a, null)).toBe(false)
    expect(sameVan(null, null)).toBe(true)
    const near = vanView({ lat: 13.752, lon: 100.505, time: T }, HOME)
    expect(sameVan(near, vanView({ lat: 13.7521, lon: 100.505, time: T }, HOME))).toBe(false)
  })

  it('shows the van only while the parcel\'s latest public step is "out for delivery"', () => {
    const track = (...codes: MilestoneCode[]): ParcelTrack => ({ recent: codes.map((code, i) => ({ code, time: T + i, stationId: null })) })
    expect(outForDelivery(track())).toBe(false)
    expect(outForDelivery(track('info_received', 'loaded'))).toBe(false)
    expect(outForDelivery(track('info_received', 'loaded', 'out_for_delivery'))).toBe(true)
    // internal steps after it (a reread at the door, a move between totes) do not end it
    expect(outForDelivery(track('info_received', 'out_for_delivery', 'loaded', 'unloaded'))).toBe(true)
    expect(outForDelivery(track('out_for_delivery', 'delivery_attempted'))).toBe(false)
    expect(outForDelivery(track('out_for_delivery', 'delivered'))).toBe(false)
    expect(outForDelivery(track('out_for_delivery', 'delivered', 'cod_collected'))).toBe(false)
  })
})
