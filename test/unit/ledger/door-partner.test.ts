import { describe, expect, it } from 'vitest'
import { doorEntries, type CodParcel } from '../../../server/ledger/door.js'
import { balances } from '../../../server/ledger/entries.js'
import type { MilestoneRow } from '../../../server/model.js'

const PARCEL: CodParcel = { id: 'p1', merchantId: 'acme', codAmount: '300.00', codCurrency: 'THB', partner: 'FastMile' }
const row = (extra: Partial<MilestoneRow>, method?: 'cash' | 'qr'): MilestoneRow => ({
  parcelId: 'p1', code: 'delivered', time: Date.UTC(2026, 11, 4, 9), stationId: null, lat: null, lon: null, source: 'api', deviceId: null, vehicleId: null,
  note: null, detail: { cod: { amount: '300', currency: 'THB', ...(method === undefined ? {} : { method }) } }, ...extra
})

describe('cash a last-mile partner collects at the door', () => {
  it('is the partner\'s to remit when its delivery comes through the API with no device of ours', () => {
    const sums = balances(doorEntries(row({}), PARCEL))
    expect(sums.get('partner_cash|FastMile|THB')).toBe(30_000n)
    expect(sums.get('driver_cash|unassigned|THB')).toBeUndefined()
  })

  it('is our driver\'s when a device of ours recorded the delivery, and the provider\'s when paid by QR', () => {
    expect(balances(doorEntries(row({ source: 'driver', deviceId: 'driver-7' }), PARCEL)).get('driver_cash|driver-7|THB')).toBe(30_000n)
    expect(balances(doorEntries(row({}, 'qr'), PARCEL)).get('provider|qr|THB')).toBe(30_000n)
  })

  it('is unassigned as before for a parcel without a partner', () => {
    expect(balances(doorEntries(row({}), { ...PARCEL, partner: null })).get('driver_cash|unassigned|THB')).toBe(30_000n)
  })
})
