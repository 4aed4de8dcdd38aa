import { beforeEach, describe, expect, it } from 'vitest'
import { compact, type Engine } from '../../../server/engine/engine.js'
import { parcelRef, vehicleRef } from '../../../server/tracking/custody.js'
import { newParcel, testEngine } from '../../support/engine.js'

const HOUR = 3_600_000
const T0 = Date.UTC(2026, 10, 23, 3)
// testEngine: a step may take 24 h while a lane has no history; lost after 4 of those; a van is silent after an hour
const STALL = 24 * HOUR

describe('engine: exceptions from what is due, never from every parcel', () => {
  let engine: Engine

  beforeEach(() => {
    engine = testEngine()
  })

  it('looks at a new parcel once, then not again until its stall could start', () => {
    engine.admit(newParcel('p1', T0))
    expect(engine.planExceptions(T0 + HOUR).parcels).toEqual(['p1'])
    expect(engine.planExceptions(T0 + 2 * HOUR).parcels).toEqual([])
    expect(engine.exceptions.waiting).toBe(1)
    const stalled = engine.planExceptions(T0 + STALL + 1)
    expect(stalled.parcels).toEqual(['p1'])
    expect(stalled.open).toEqual([expect.objectContaining({ kind: 'stalled', parcelId: 'p1', openedAt: T0 + STALL })])
    expect(stalled.milestones).toEqual([expect.objectContaining({ parcelId: 'p1', code: 'stalled', time: T0 + STALL, source: 'engine' })])
  })

  it('clears an exception at the next pass after the parcel moves on', () => {
    const parcel = engine.admit(newParcel('p1', T0))
    engine.planExceptions(T0 + HOUR)
    engine.planExceptions(T0 + STALL + 1)
    engine.exceptions.opened([{ id: '41', kind: 'stalled', parcelId: 'p1', vehicleId: null }])
    // already open: not raised twice
    expect(engine.planExceptions(T0 + STALL + 2).open).toEqual([])
    engine.recordMilestone(parcel, 'received_at_origin', { time: T0 + STALL + 3, source: 'api', deviceId: null, stationId: null }, null)
    const plan = engine.planExceptions(T0 + STALL + 4)
    expect(plan.clear).toEqual(['41'])
    engine.exceptions.cleared(plan.clear)
    expect(engine.planExceptions(T0 + STALL + 5).clear).toEqual([])
  })

  it('takes a million parcels a chunk at a time, and afterwards only those that are due', () => {
    const parcels = Array.from({ length: 10_000 }, (_, i) => compact(newParcel(`p${i}`, T0 - (i % 48) * HOUR)))
    engine.load(parcels, T0)
    let passes = 0
    let looked = 0
    for (let more = true; more; passes++) {
      const plan = engine.planExceptions(T0, 2000)
      looked += plan.parcels.length
      more = plan.more
    }
    expect(passes).toBe(5)
    expect(looked).toBe(10_000)
    // an hour later, the parcels whose 24 h stall began in that hour: one in 48
    const hourLater = engine.planExceptions(T0 + HOUR)
    expect(hourLater.parcels.length).toBeGreaterThanOrEqual(200)
    expect(hourLater.parcels.length).toBeLessThanOrEqual(420)
    expect(hourLater.open.every((raised) => raised.kind === 'stalled')).toBe(true)
  })

  it('clears at start what was open for a parcel whose journey has ended since', () => {
    engine.restoreExceptions([{ id: '7', kind: 'stalled', parcelId: 'gone', vehicleId: null }])
    expect(engine.planExceptions(T0).clear).toEqual(['7'])
  })

  it('looks again at the parcels of a plan that could not be written', () => {
    engine.admit(newParcel('p1', T0))
    const plan = engine.planExceptions(T0 + HOUR)
    expect(engine.planExceptions(T0 + HOUR).parcels).toEqual([])
    engine.exceptions.failed(plan)
    expect(engine.planExceptions(T0 + HOUR).parcels).toEqual(['p1'])
  })

  it('raises a vehicle carrying parcels that has been silent, and clears it on its next fix', () => {
    engine.putVehicle({ id: 'V1', name: 'Van 1', plate: null, deviceId: 'van-1', driver: null, createdAt: new Date(T0) })
    engine.admit(newParcel('p1', T0))
    engine.isLate({ deviceId: 'van-1', time: T0, lat: 13.7, lon: 100.5 })
    engine.move(parcelRef('p1'), vehicleRef('V1'), { time: T0, source: 'api', deviceId: null, stationId: null })
    expect(engine.planExceptions(T0 + HOUR / 2).open).toEqual([])
    const silent = engine.planExceptions(T0 + 2 * HOUR)
    expect(silent.open).toEqual([expect.objectContaining({ kind: 'vehicle_silent', vehicleId: 'V1', detail: expect.objectContaining({ parcelsAboard: 1 }) })])
    engine.exceptions.opened([{ id: '9', kind: 'vehicle_silent', parcelId: null, vehicleId: 'V1' }])
    engine.isLate({ deviceId: 'van-1', time: T0 + 2 * HOUR, lat: 13.7, lon: 100.5 })
    expect(engine.planExceptions(T0 + 2 * HOUR + 1).clear).toEqual(['9'])
  })

  it('looks at the vehicles once a pass, at its last step, however many steps the parcels take', () => {
    engine.putVehicle({ id: 'V1', name: 'Van 1', plate: null, deviceId: 'van-1', driver: null, createdAt: new Date(T0) })
    engine.load(Array.from({ length: 5 }, (_, i) => compact(newParcel(`p${i}`, T0))), T0)
    engine.move(parcelRef('p0'), vehicleRef('V1'), { time: T0, source: 'api', deviceId: null, stationId: null })
    const steps = [1, 2, 3].map(() => engine.planExceptions(T0 + 2 * HOUR, 2))
    expect(steps.map((step) => [step.more, step.open.filter((raised) => raised.kind === 'vehicle_silent').length]))
      .toEqual([[true, 0], [true, 0], [false, 1]])
    expect(new Set(steps.flatMap((step) => step.parcels)).size).toBe(5)
  })
})
