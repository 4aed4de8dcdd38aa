import { describe, expect, it } from 'vitest'
import { compact } from '../../../server/engine/engine.js'
import type { MilestoneRow } from '../../../server/model.js'
import { newParcel, testEngine } from '../../support/engine.js'

const HOUR = 3_600_000
const T0 = Date.UTC(2026, 10, 23, 3)

describe('engine: loading and reading back', () => {
  it('loads parcels on their way into the working set, each due for the exception rules now', () => {
    const engine = testEngine()
    engine.load([compact(newParcel('p1', T0)), compact(newParcel('p2', T0))], T0 + HOUR)
    expect(engine.store.parcels.size).toBe(2)
    expect(engine.planExceptions(T0 + HOUR).parcels.sort()).toEqual(['p1', 'p2'])
  })

  it('keeps of a parcel only what its rules need: its lane, its point, its currency, its track', () => {
    const active = compact(newParcel('p1', T0, { originCountry: 'VN', codAmount: '450.00', codCurrency: 'THB', destination: { name: 'Somchai', address: '1 Silom Rd', city: 'Bangkok', postcode: '10500', country: 'TH', lat: 13.7, lon: 100.5 } }))
    expect(active).toEqual({
      id: 'p1', trackingNumber: 'TS-p1', epc: null, gs1Key: null, lane: 'VN>TH', destination: { lat: 13.7, lon: 100.5 },
      codCurrency: 'THB', status: 'info_received', statusAt: T0, track: { recent: [{ code: 'info_received', time: T0, stationId: null }] }
    })
    expect(JSON.stringify(active)).not.toMatch(/Somchai|Silom|450/)
  })

  it('reads back a parcel another instance registered into the working set, and an ended one only for a moment', () => {
    const engine = testEngine()
    const onItsWay = engine.remember(newParcel('p1', T0), { item: 'parcel:p1', carrier: 'vehicle:V1', since: T0 })
    expect(engine.store.parcels.isActive('p1')).toBe(true)
    expect(engine.store.custody.vehicleOf('parcel:p1')).toBe('V1')
    expect(engine.remember(newParcel('p1', T0), undefined)).toBe(onItsWay)
    const ended = engine.remember(newParcel('p2', T0, { status: 'delivered', endedAt: new Date(T0 + HOUR) }), undefined)
    expect(engine.store.parcels.isActive('p2')).toBe(false)
    expect(engine.find('TS-p2')).toBe(ended)
  })

  it('learns how long each step took on the lane from what was committed', () => {
    const engine = testEngine()
    const parcel = engine.admit(newParcel('p1', T0))
    const { milestones } = engine.recordMilestone(parcel, 'received_at_origin', { time: T0 + 2 * HOUR, source: 'api', deviceId: null, stationId: null }, null)
    engine.learn(milestones)
    expect(engine.laneStats.steps.get('CN>TH')?.get('info_received')?.values).toEqual([2 * HOUR])
  })
})

describe('engine: custody another instance committed', () => {
  it('takes a move at least as new as what it knows, and never lets one heard late undo a later one', () => {
    const engine = testEngine()
    engine.restoreCustody([{ item: 'parcel:p1', carrier: 'vehicle:V1', since: 2000 }])
    // newer, from the instance whose dock reader moved it
    engine.custodyCommittedElsewhere([{ item: 'parcel:p1', carrier: 'vehicle:V2', since: 3000 }, { item: 'parcel:p2', carrier: 'vehicle:V2', since: 3000 }])
    expect(engine.store.custody.parcelsIn('vehicle:V2').sort()).toEqual(['p1', 'p2'])
    expect(engine.store.custody.parcelsIn('vehicle:V1')).toEqual([])
    // older: heard after the move above
    engine.custodyCommittedElsewhere([{ item: 'parcel:p1', carrier: 'vehicle:V1', since: 2500 }])
    expect(engine.store.custody.vehicleOf('parcel:p1')).toBe('V2')
    // taken off everything, later
    engine.custodyCommittedElsewhere([{ item: 'parcel:p2', carrier: null, since: 4000 }])
    expect(engine.store.custody.parcelsIn('vehicle:V2')).toEqual(['p1'])
  })
})

describe('engine: milestones another instance committed', () => {
  it('puts each on the parcel\'s track once, in time order, and its status follows', () => {
    const engine = testEngine()
    const parcel = engine.admit(newParcel('p1', T0))
    const row = (code: 'arrived_at_facility' | 'departed_facility', at: number): MilestoneRow => ({
      parcelId: 'p1', code, time: at, stationId: 'HUB', lat: null, lon: null, source: 'rfid', deviceId: null, vehicleId: null, detail: null, note: null
    })
    engine.milestonesCommittedElsewhere([row('departed_facility', T0 + 2 * HOUR)])
    engine.milestonesCommittedElsewhere([row('arrived_at_facility', T0 + HOUR), row('departed_facility', T0 + 2 * HOUR)])
    expect(parcel.track.recent.map((m) => m.code)).toEqual(['info_received', 'arrived_at_facility', 'departed_facility'])
    expect([parcel.status, parcel.statusAt]).toEqual(['departed_facility', T0 + 2 * HOUR])
    // a parcel this instance does not hold is left to be read from the database when it is asked for
    engine.milestonesCommittedElsewhere([{ ...row('arrived_at_facility', T0), parcelId: 'p2' }])
    expect(engine.find('p2')).toBeUndefined()
  })
})
