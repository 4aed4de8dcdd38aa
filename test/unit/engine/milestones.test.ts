import { beforeEach, describe, expect, it } from 'vitest'
import type { Engine } from '../../../server/engine/engine.js'
import type { ActiveParcel } from '../../../server/model.js'
import { containerRef, parcelRef, vehicleRef } from '../../../server/tracking/custody.js'
import { newParcel, testEngine } from '../../support/engine.js'

const T0 = Date.UTC(2026, 10, 23, 3)
const api = (time: number) => ({ time, source: 'api' as const, deviceId: null, stationId: null })

describe('engine commands: record a milestone, move custody', () => {
  let engine: Engine
  let parcel: ActiveParcel

  beforeEach(() => {
    engine = testEngine()
    engine.putStation({ id: 'BKK', name: 'Bangkok hub', kind: 'hub', lat: 13.7, lon: 100.6, city: 'Bangkok', country: 'TH', timezone: 'Asia/Bangkok', createdAt: new Date(T0) })
    engine.putDevice({ id: 'van-1', kind: 'tracker', format: 'trackstream', owner: 'ops', scope: null, name: null, secretHash: '', disabled: false, createdAt: new Date(T0) })
    engine.putVehicle({ id: 'V1', name: 'Van 1', plate: null, deviceId: 'van-1', driver: null, createdAt: new Date(T0) })
    engine.putContainer({ id: 'TOTE-1', kind: 'tote', name: null, epc: null, gs1Key: null, createdAt: new Date(T0) })
    parcel = engine.admit(newParcel('p1', T0))
  })

  it('records a milestone on the track, moves the status, and places it at the station', () => {
    const { milestones, custody } = engine.recordMilestone(parcel, 'received_at_origin', { ...api(T0 + 1000), stationId: 'BKK' }, null)
    expect(milestones).toEqual([expect.objectContaining({ parcelId: 'p1', code: 'received_at_origin', time: T0 + 1000, stationId: 'BKK', lat: 13.7, lon: 100.6, source: 'api' })])
    expect(custody).toEqual([])
    expect(parcel.status).toBe('received_at_origin')
    expect(parcel.statusAt).toBe(T0 + 1000)
    expect(parcel.track.recent.map((m) => m.code)).toEqual(['info_received', 'received_at_origin'])
  })

  it('keeps the status at the latest milestone by time when one arrives late', () => {
    engine.recordMilestone(parcel, 'departed_facility', api(T0 + 5000), null)
    engine.recordMilestone(parcel, 'received_at_origin', api(T0 + 1000), null)
    expect(parcel.status).toBe('departed_facility')
    expect(parcel.track.recent.map((m) => m.code)).toEqual(['info_received', 'received_at_origin', 'departed_facility'])
  })

  it('moves a parcel onto a vehicle with "loaded", placed where the vehicle is, and off with "unloaded"', () => {
    engine.isLate({ deviceId: 'van-1', time: T0, lat: 13.8, lon: 100.5 })
    const on = engine.move(parcelRef('p1'), vehicleRef('V1'), api(T0 + 1000))
    expect(on.outcome.ok).toBe(true)
    expect(on.milestones).toEqual([expect.objectContaining({ code: 'loaded', vehicleId: 'V1', lat: 13.8, lon: 100.5 })])
    expect(on.custody).toEqual([{ item: 'parcel:p1', carrier: 'vehicle:V1', since: T0 + 1000 }])
    expect(engine.store.parcelsAboard('V1').map((p) => p.id)).toEqual(['p1'])
    const off = engine.move(parcelRef('p1'), null, api(T0 + 2000))
    expect(off.milestones).toEqual([expect.objectContaining({ code: 'unloaded', vehicleId: 'V1' })])
    expect(engine.store.parcelsAboard('V1')).toEqual([])
  })

  it('moves everything in a container with it, and refuses a move older than the last', () => {
    engine.move(parcelRef('p1'), containerRef('TOTE-1'), api(T0 + 1000))
    const loaded = engine.move(containerRef('TOTE-1'), vehicleRef('V1'), api(T0 + 2000))
    expect(loaded.milestones.map((m) => [m.parcelId, m.code])).toEqual([['p1', 'loaded']])
    expect(engine.store.custody.containersOf(parcelRef('p1'))).toEqual(['TOTE-1'])
    const late = engine.move(containerRef('TOTE-1'), null, api(T0 + 1500))
    expect(late.outcome).toEqual({ ok: false, why: 'older_than_last_move' })
    expect(late.milestones).toEqual([])
  })

  it('ends the journey with a final milestone: off the vehicle with no "unloaded", out of the working set, its custody forgotten', () => {
    engine.move(parcelRef('p1'), vehicleRef('V1'), api(T0 + 1000))
    const { milestones, custody } = engine.recordMilestone(parcel, 'delivered', api(T0 + 2000), null, { lat: 13.75, lon: 100.5 })
    expect(milestones.map((m) => m.code)).toEqual(['delivered'])
    expect(milestones[0]).toMatchObject({ lat: 13.75, lon: 100.5, vehicleId: 'V1' })
    expect(custody).toEqual([{ item: 'parcel:p1', carrier: null, since: T0 + 2000 }])
    expect(engine.store.parcels.isActive('p1')).toBe(false)
    expect(engine.store.custody.entryOf(parcelRef('p1'))).toBeUndefined()
    expect(engine.store.parcelsAboard('V1')).toEqual([])
    // a late word still finds it
    expect(engine.find('TS-p1')?.status).toBe('delivered')
  })
})
