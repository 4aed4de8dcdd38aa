import { describe, expect, it } from 'vitest'
import type { Fix } from '../../../proto/types.js'
import { expectSaneFix, expectSaneScan, sane } from '../../support/sane.js'

const FIX: Fix = { deviceId: 'van-1', time: Date.UTC(2026, 10, 23), lat: 13.75, lon: 100.5 }

describe('the sanity check every decoder test shares', () => {
  it('accepts a fix with real numbers, and with values the validate stage refuses later', () => {
    expectSaneFix(FIX)
    expectSaneFix({ ...FIX, lat: 0, lon: 0, speed: 0, seq: 7 })
    expectSaneFix({ ...FIX, lat: 91 })
  })

  it('fails a decoder that lets NaN, a string, an empty id or a missing place through', () => {
    expect(() => { expectSaneFix({ ...FIX, time: Number.NaN }) }).toThrow(/time is a finite number/)
    expect(() => { expectSaneFix({ ...FIX, lat: '13.7' as unknown as number }) }).toThrow(/lat is a finite number/)
    expect(() => { expectSaneFix({ ...FIX, deviceId: ' ' }) }).toThrow(/a device id/)
    expect(() => { expectSaneFix({ ...FIX, speed: Number.POSITIVE_INFINITY }) }).toThrow(/speed is a finite number or absent/)
    expect(() => { expectSaneScan({ readerId: 'dock-1', epc: 'abcd', antenna: 1, time: FIX.time }) }).toThrow(/upper case/)
    const broken = sane(() => ({ fixes: [{ ...FIX, lon: Number.NaN }], scans: [] }))
    expect(() => broken()).toThrow(/lon is a finite number/)
  })
})
