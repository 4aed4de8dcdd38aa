import { beforeEach, describe, expect, it } from 'vitest'
import type { Engine } from '../../../server/engine/engine.js'
import type { ReaderRecord } from '../../../server/model.js'
import { containerRef, parcelRef } from '../../../server/tracking/custody.js'
import { newParcel, testEngine } from '../../support/engine.js'

const T0 = Date.UTC(2026, 10, 23, 3)
const EPC = 'E28011606000020400001234'
const TOTE_EPC = 'E28011606000020400009999'

const reader = (deviceId: string, extra: Partial<ReaderRecord> = {}): ReaderRecord =>
  ({ deviceId, stationId: 'BKK', milestone: 'arrived_at_facility', name: null, antennas: [], vehicleId: null, mounted: false, createdAt: new Date(T0), ...extra })
const scan = (readerId: string, time: number, antenna = 1, epc = EPC) => ({ readerId, epc, antenna, time, rssi: -60 })

describe('engine commands: a tag read', () => {
  let engine: Engine

  beforeEach(() => {
    engine = testEngine({ rfidWindowMs: 1000 })
    engine.putStation({ id: 'BKK', name: 'Bangkok hub', kind: 'hub', lat: 13.7, lon: 100.6, city: 'Bangkok', country: 'TH', timezone: null, createdAt: new Date(T0) })
    engine.putVehicle({ id: 'V1', name: 'Van 1', plate: null, deviceId: null, driver: null, createdAt: new Date(T0) })
    engine.putContainer({ id: 'TOTE-1', kind: 'tote', name: null, epc: TOTE_EPC, gs1Key: null, createdAt: new Date(T0) })
    engine.admit(newParcel('p1', T0, { epc: EPC }))
  })

  const read = (readerId: string, time: number, antenna = 1, epc = EPC) => {
    const s = scan(readerId, time, antenna, epc)
    const identity = engine.identify(s, null)
    return { identity, effects: engine.scanEffects(s, identity, engine.smooth(s, identity)) }
  }

  it('identifies the station, and the parcel or container the tag is; an unknown tag is neither', () => {
    engine.putReader(reader('dock-1'))
    expect(engine.identify(scan('dock-1', T0), null)).toEqual({ gs1Key: null, stationId: 'BKK', parcelId: 'p1', containerId: null })
    expect(engine.identify(scan('dock-1', T0, 1, TOTE_EPC), null)).toMatchObject({ parcelId: null, containerId: 'TOTE-1' })
    expect(engine.identify(scan('dock-1', T0, 1, 'ABCD'), null)).toMatchObject({ parcelId: null, containerId: null })
    expect(engine.identify(scan('nowhere', T0), null)).toMatchObject({ stationId: null, parcelId: 'p1' })
  })

  it('records the reader\'s milestone at its station once, however often the tag is read there', () => {
    engine.putReader(reader('dock-1'))
    const first = read('dock-1', T0 + 1000)
    expect(first.effects.milestones).toEqual([expect.objectContaining({ parcelId: 'p1', code: 'arrived_at_facility', stationId: 'BKK', source: 'rfid', deviceId: 'dock-1', lat: 13.7, lon: 100.6 })])
    expect(read('dock-1', T0 + 1200).effects.milestones).toEqual([])
    expect(engine.store.parcels.get('p1')?.status).toBe('arrived_at_facility')
  })

  it('loads a tag read at a loading door onto the door\'s vehicle, once, with the container\'s contents', () => {
    engine.putReader(reader('door-1', { milestone: 'loaded', vehicleId: 'V1' }))
    engine.move(parcelRef('p1'), containerRef('TOTE-1'), { time: T0, source: 'api', deviceId: null, stationId: null })
    const loaded = read('door-1', T0 + 1000, 1, TOTE_EPC)
    expect(loaded.effects.custody).toEqual([{ item: 'container:TOTE-1', carrier: 'vehicle:V1', since: T0 + 1000 }])
    expect(loaded.effects.milestones.map((m) => [m.parcelId, m.code, m.vehicleId])).toEqual([['p1', 'loaded', 'V1']])
    expect(read('door-1', T0 + 1500, 1, TOTE_EPC).effects).toEqual({ milestones: [], custody: [] })
  })

  it('decides loading or unloading at a door with two sides by the order the tag passes them', () => {
    engine.putReader(reader('door-2', { milestone: 'loaded', vehicleId: 'V1', antennas: [{ port: 1, milestone: 'loaded', stationId: null, side: 'inner' }, { port: 2, milestone: 'loaded', stationId: null, side: 'outer' }] }))
    // three reads a side (rfid-smoothing.ts) before the order is trusted: inner first, then outer
    for (const ms of [100, 200, 300]) expect(read('door-2', T0 + ms, 1).effects.custody).toEqual([])
    expect(read('door-2', T0 + 400, 2).effects.custody).toEqual([])
    expect(read('door-2', T0 + 500, 2).effects.custody).toEqual([])
    const passed = read('door-2', T0 + 600, 2)
    expect(passed.effects.custody).toEqual([{ item: 'parcel:p1', carrier: 'vehicle:V1', since: T0 + 600 }])
    expect(engine.store.parcelsAboard('V1').map((p) => p.id)).toEqual(['p1'])
  })

  it('puts everything a reader mounted in a vehicle reads aboard it', () => {
    engine.putReader(reader('cab-1', { stationId: null, vehicleId: 'V1', mounted: true }))
    expect(read('cab-1', T0 + 1000).effects.custody).toEqual([{ item: 'parcel:p1', carrier: 'vehicle:V1', since: T0 + 1000 }])
  })

  it('knows a repeated read of one tag on one antenna at one instant', () => {
    expect(engine.seenScan(scan('dock-1', T0))).toBe(false)
    expect(engine.seenScan(scan('dock-1', T0))).toBe(true)
    expect(engine.seenScan(scan('dock-1', T0, 2))).toBe(false)
  })
})
