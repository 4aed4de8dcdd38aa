import { beforeEach, describe, expect, it } from 'vitest'
import type { Engine } from '../../../server/engine/engine.js'
import { parcelRef, vehicleRef } from '../../../server/tracking/custody.js'
import { newParcel, testEngine } from '../../support/engine.js'

const T0 = Date.UTC(2026, 10, 23, 3)
const HUB = { lat: 13.70, lon: 100.60 }
const fix = (time: number, lat: number, lon: number, seq?: number) => ({ deviceId: 'van-1', time, lat, lon, ...(seq === undefined ? {} : { seq }) })

describe('engine commands: a fix', () => {
  let engine: Engine

  beforeEach(() => {
    engine = testEngine()
    engine.putVehicle({ id: 'V1', name: 'Van 1', plate: null, deviceId: 'van-1', driver: null, createdAt: new Date(T0) })
    engine.putStation({ id: 'BKK', name: 'Bangkok hub', kind: 'hub', ...HUB, city: 'Bangkok', country: 'TH', timezone: null, createdAt: new Date(T0) })
    engine.putFence({ id: 'F-BKK', name: 'Bangkok hub', kind: 'station', stationId: 'BKK', shape: { type: 'circle', ...HUB, radiusM: 500 }, onEnter: 'arrived_at_facility', onExit: 'departed_facility', createdAt: new Date(T0) })
  })

  it('knows a redelivered fix by (time, seq), and a rebooted device\'s new fix with an old seq is new', () => {
    expect(engine.seenFix(fix(T0, 13, 100, 1))).toBe(false)
    expect(engine.seenFix(fix(T0, 13, 100, 1))).toBe(true)
    expect(engine.seenFix(fix(T0 + 1000, 13, 100, 1))).toBe(false)
  })

  it('marks a fix older than the newest late, and keeps the newest as the device\'s position', () => {
    expect(engine.isLate(fix(T0 + 2000, 13.8, 100.5))).toBe(false)
    expect(engine.isLate(fix(T0 + 1000, 13.9, 100.4))).toBe(true)
    expect(engine.store.vehiclePosition('V1')).toEqual({ lat: 13.8, lon: 100.5, time: T0 + 2000 })
  })

  it('gives every parcel aboard the fence\'s milestone when the vehicle enters, with the crossing and its event', () => {
    const parcel = engine.admit(newParcel('p1', T0))
    engine.move(parcelRef('p1'), vehicleRef('V1'), { time: T0, source: 'api', deviceId: null, stationId: null })
    expect(engine.crossFences(fix(T0 + 1000, 13.80, 100.60), 'V1', T0 + 1000)).toBeNull()
    // one fix inside is a candidate; the next one inside confirms the entry, as of the first
    expect(engine.crossFences(fix(T0 + 2000, HUB.lat, HUB.lon), 'V1', T0 + 2000)).toBeNull()
    const effects = engine.crossFences(fix(T0 + 2500, HUB.lat, HUB.lon), 'V1', T0 + 2500)
    expect(effects?.crossings).toEqual([{ vehicleId: 'V1', fenceId: 'F-BKK', inside: true, time: T0 + 2000 }])
    expect(effects?.events.map((e) => e.event.type)).toEqual(['geofence_enter'])
    expect(effects?.milestones).toEqual([expect.objectContaining({ parcelId: 'p1', code: 'arrived_at_facility', stationId: 'BKK', source: 'geofence', vehicleId: 'V1', ...HUB })])
    expect(parcel.status).toBe('arrived_at_facility')
    // inside, it stays inside: no second arrival
    expect(engine.crossFences(fix(T0 + 3000, HUB.lat + 0.001, HUB.lon), 'V1', T0 + 3000)).toBeNull()
  })

  it('remembers a vehicle inside a fence across a restart, so its next fix inside enters nothing', () => {
    engine.restoreCrossings([{ vehicleId: 'V1', fenceId: 'F-BKK', inside: true, time: T0 }])
    expect(engine.crossFences(fix(T0 + 1000, HUB.lat, HUB.lon), 'V1', T0 + 1000)).toBeNull()
    expect(engine.crossFences(fix(T0 + 2000, 13.80, 100.60), 'V1', T0 + 2000)).toBeNull()
    expect(engine.crossFences(fix(T0 + 2500, 13.80, 100.60), 'V1', T0 + 2500)?.crossings).toEqual([{ vehicleId: 'V1', fenceId: 'F-BKK', inside: false, time: T0 + 2000 }])
  })
})
