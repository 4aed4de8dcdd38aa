import { describe, expect, it } from 'vitest'
import { containerRef, Custody, parcelRef, vehicleRef } from '../../server/tracking/custody.js'

const T0 = Date.UTC(2026, 10, 23, 3, 0, 0)
const MIN = 60_000
const at = (minutes: number): number => T0 + minutes * MIN

describe('custody: what rides in what', () => {
  it('loads a parcel onto a vehicle and unloads it, reporting each vehicle change', () => {
    const custody = new Custody()
    expect(custody.move(parcelRef('p1'), vehicleRef('V1'), at(0))).toEqual({ ok: true, changes: [{ parcelId: 'p1', from: null, to: 'V1' }] })
    expect(custody.vehicleOf(parcelRef('p1'))).toBe('V1')
    expect(custody.move(parcelRef('p1'), vehicleRef('V2'), at(5))).toEqual({ ok: true, changes: [{ parcelId: 'p1', from: 'V1', to: 'V2' }] })
    expect(custody.parcelsIn(vehicleRef('V1'))).toEqual([])
    expect(custody.move(parcelRef('p1'), null, at(9))).toEqual({ ok: true, changes: [{ parcelId: 'p1', from: 'V2', to: null }] })
    expect(custody.vehicleOf(parcelRef('p1'))).toBeNull()
  })

  it('nests: a parcel in a tote on a pallet on a truck rides the truck, and moving the pallet moves everything', () => {
    const custody = new Custody()
    custody.move(parcelRef('p1'), containerRef('TOTE-1'), at(0))
    custody.move(parcelRef('p2'), containerRef('TOTE-1'), at(0))
    custody.move(parcelRef('p3'), containerRef('PAL-1'), at(1))
    // packing a tote onto a pallet that is on no vehicle changes no vehicle
    expect(custody.move(containerRef('TOTE-1'), containerRef('PAL-1'), at(2))).toEqual({ ok: true, changes: [] })
    const loaded = custody.move(containerRef('PAL-1'), vehicleRef('TRUCK'), at(3))
    expect(loaded.ok && loaded.changes.map((c) => [c.parcelId, c.from, c.to]).sort()).toEqual([
      ['p1', null, 'TRUCK'], ['p2', null, 'TRUCK'], ['p3', null, 'TRUCK']
    ])
    expect(custody.carriersOf(parcelRef('p1'))).toEqual(['container:TOTE-1', 'container:PAL-1', 'vehicle:TRUCK'])
    expect(custody.containersOf(parcelRef('p1'))).toEqual(['TOTE-1', 'PAL-1'])
    expect(custody.parcelsIn(vehicleRef('TRUCK')).sort()).toEqual(['p1', 'p2', 'p3'])
    // taking one parcel out of the tote takes it off the truck, and only it
    expect(custody.move(parcelRef('p2'), null, at(4))).toEqual({ ok: true, changes: [{ parcelId: 'p2', from: 'TRUCK', to: null }] })
    expect(custody.parcelsIn(vehicleRef('TRUCK')).sort()).toEqual(['p1', 'p3'])
  })

  it('refuses a move older than the item\'s last one, so a late report never undoes a newer move', () => {
    const custody = new Custody()
    custody.move(parcelRef('p1'), vehicleRef('V1'), at(10))
    expect(custody.move(parcelRef('p1'), null, at(5))).toEqual({ ok: false, why: 'older_than_last_move' })
    expect(custody.vehicleOf(parcelRef('p1'))).toBe('V1')
  })

  it('refuses to put a container inside itself, directly or through what it holds', () => {
    const custody = new Custody()
    custody.move(containerRef('BAG'), containerRef('TOTE'), at(0))
    expect(custody.move(containerRef('TOTE'), containerRef('TOTE'), at(1))).toEqual({ ok: false, why: 'would_contain_itself' })
    expect(custody.move(containerRef('TOTE'), containerRef('BAG'), at(1))).toEqual({ ok: false, why: 'would_contain_itself' })
  })

  it('restores from stored rows without reporting changes', () => {
    const custody = new Custody()
    custody.restore(containerRef('TOTE'), { carrier: vehicleRef('V1'), since: at(0) })
    custody.restore(parcelRef('p1'), { carrier: containerRef('TOTE'), since: at(0) })
    custody.restore(parcelRef('p2'), { carrier: null, since: at(0) })
    expect(custody.vehicleOf(parcelRef('p1'))).toBe('V1')
    expect(custody.parcelsIn(vehicleRef('V1'))).toEqual(['p1'])
    expect(custody.move(parcelRef('p2'), vehicleRef('V1'), at(-1))).toEqual({ ok: false, why: 'older_than_last_move' })
  })
})
