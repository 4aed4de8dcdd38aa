import { beforeEach, describe, expect, it } from 'vitest'
import type { Engine } from '../../../server/engine/engine.js'
import { parcelRef, vehicleRef } from '../../../server/tracking/custody.js'
import { newParcel, testEngine } from '../../support/engine.js'

const HOUR = 3_600_000
const T0 = Date.UTC(2026, 10, 23, 3)
const api = (time: number) => ({ time, source: 'api' as const, deviceId: null, stationId: null })
const to = (lat: number, lon: number) => ({ name: null, address: null, city: 'Bangkok', postcode: null, country: 'TH', lat, lon })

describe('engine: ETAs', () => {
  let engine: Engine

  beforeEach(() => {
    engine = testEngine()
    for (const n of [1, 2]) engine.putVehicle({ id: `V${n}`, name: `Van ${n}`, plate: null, deviceId: `van-${n}`, driver: null, createdAt: new Date(T0) })
  })

  it('gives each parcel out for delivery on a van a route ETA, nearest stop first, and tells only what moved', () => {
    engine.isLate({ deviceId: 'van-1', time: T0, lat: 13.70, lon: 100.60 })
    const near = engine.admit(newParcel('near', T0, { destination: to(13.75, 100.60) }))
    const far = engine.admit(newParcel('far', T0, { destination: to(13.80, 100.60) }))
    for (const parcel of [near, far]) {
      engine.move(parcelRef(parcel.id), vehicleRef('V1'), api(T0))
      engine.recordMilestone(parcel, 'out_for_delivery', api(T0 + 1), null)
    }
    const told = engine.etas.sweepRoutes(T0 + 1000)
    expect(told.map((eta) => [eta.parcelId, eta.basis])).toEqual([['near', 'route'], ['far', 'route']])
    expect((told[0]?.eta ?? 0) < (told[1]?.eta ?? 0)).toBe(true)
    expect(engine.etas.etaOf(near, T0 + 1000)).toEqual(told[0])
    // nothing moved: nothing to tell
    expect(engine.etas.sweepRoutes(T0 + 2000)).toEqual([])
  })

  it('sweeps a few vans at a time, telling the same as in one go, and gives no route ETA to a parcel delivered meanwhile', () => {
    const parcels = [1, 2].map((n) => {
      engine.isLate({ deviceId: `van-${n}`, time: T0, lat: 13.70, lon: 100.60 })
      const parcel = engine.admit(newParcel(`p${n}`, T0, { destination: to(13.70 + n / 100, 100.60) }))
      engine.move(parcelRef(parcel.id), vehicleRef(`V${n}`), api(T0))
      engine.recordMilestone(parcel, 'out_for_delivery', api(T0 + 1), null)
      return parcel
    })
    const sweep = engine.etas.beginSweep()
    const first = sweep.step(T0 + 1000, 1)
    expect(first.map((eta) => eta.parcelId)).toEqual(['p1'])
    expect(sweep.done).toBe(false)
    engine.recordMilestone(parcels[0]!, 'delivered', api(T0 + 1500), null)
    expect(sweep.step(T0 + 1000, 1).map((eta) => eta.parcelId)).toEqual(['p2'])
    expect(sweep.done).toBe(true)
    sweep.finish(T0 + 1000)
    expect(engine.etas.etaOf(parcels[0]!, T0 + 2000)).toBeUndefined()
    expect(engine.etas.etaOf(parcels[1]!, T0 + 2000)?.basis).toBe('route')
  })

  it('sweeps only the vans that carry parcels', () => {
    engine.isLate({ deviceId: 'van-2', time: T0, lat: 13.70, lon: 100.60 })
    engine.admit(newParcel('idle', T0, { destination: to(13.75, 100.60) }))
    expect(engine.etas.sweepRoutes(T0 + 1000)).toEqual([])
  })

  it('estimates from the lane before the van, once five journeys have taught it, and says nothing once delivered', () => {
    const parcel = engine.admit(newParcel('early', T0))
    expect(engine.etas.etaOf(parcel, T0)).toBeUndefined()
    engine.learnJourneys(Array.from({ length: 5 }, () => ({ lane: 'CN>TH', milestones: [{ code: 'info_received' as const, time: T0 - 100 * HOUR }, { code: 'delivered' as const, time: T0 - 50 * HOUR }] })))
    expect(engine.etas.etaOf(parcel, T0)).toEqual({ parcelId: 'early', eta: T0 + 50 * HOUR, basis: 'lane' })
    engine.recordMilestone(parcel, 'delivered', api(T0 + HOUR), null)
    expect(engine.etas.onMilestone(parcel, T0 + HOUR)).toBeUndefined()
    expect(engine.etas.etaOf(parcel, T0 + HOUR)).toBeUndefined()
  })
})
