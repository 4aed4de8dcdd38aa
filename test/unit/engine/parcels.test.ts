import { describe, expect, it } from 'vitest'
import { compact } from '../../../server/engine/engine.js'
import { ActiveParcels } from '../../../server/engine/parcels.js'
import { newParcel } from '../../support/engine.js'

const T0 = Date.UTC(2026, 10, 23)
const active = (id: string, epc: string | null = null, gs1Key: string | null = null) => compact(newParcel(id, T0, { epc, gs1Key }))

describe('ActiveParcels: the parcels on their way', () => {
  it('finds a parcel by id, tracking number, EPC and GS1 key', () => {
    const parcels = new ActiveParcels()
    const a = active('a', 'E2801160', 'sscc:012345678901234560')
    parcels.admit(a)
    expect(parcels.get('a')).toBe(a)
    expect(parcels.find('TS-a')).toBe(a)
    expect(parcels.byTag('E2801160', null)).toBe(a)
    expect(parcels.byTag('30340000', 'sscc:012345678901234560')).toBe(a)
    expect(parcels.byTag('30340000', null)).toBeUndefined()
    expect(parcels.size).toBe(1)
  })

  it('moves a parcel whose journey ended to the recently ended: found by id and number, no longer by its tag', () => {
    const parcels = new ActiveParcels()
    parcels.admit(active('a', 'E2801160'))
    parcels.end('a')
    expect(parcels.size).toBe(0)
    expect(parcels.isActive('a')).toBe(false)
    expect(parcels.get('a')?.id).toBe('a')
    expect(parcels.find('TS-a')?.id).toBe('a')
    expect(parcels.byTag('E2801160', null)).toBeUndefined()
  })

  it('keeps a bounded number of the recently ended, dropping the oldest', () => {
    const parcels = new ActiveParcels()
    for (let i = 0; i < 10_001; i++) parcels.remember(active(`p${i}`))
    expect(parcels.get('p0')).toBeUndefined()
    expect(parcels.find('TS-p0')).toBeUndefined()
    expect(parcels.get('p1')?.id).toBe('p1')
    expect(parcels.get('p10000')?.id).toBe('p10000')
  })

  it('takes a parcel back into the working set from the recently ended', () => {
    const parcels = new ActiveParcels()
    parcels.remember(active('a'))
    expect(parcels.isActive('a')).toBe(false)
    parcels.admit(active('a'))
    expect(parcels.isActive('a')).toBe(true)
  })
})
