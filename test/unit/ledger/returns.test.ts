import { describe, expect, it } from 'vitest'
import { entryProblem } from '../../../server/ledger/entries.js'
import { returnEntries } from '../../../server/ledger/returns.js'
import type { MilestoneRow } from '../../../server/model.js'

const returned: MilestoneRow = {
  parcelId: 'p1', code: 'returned_to_sender', time: Date.UTC(2026, 11, 4), stationId: null, lat: null, lon: null,
  source: 'api', deviceId: null, vehicleId: null, detail: null, note: null
}

describe('a returned parcel\'s COD', () => {
  it('is reversed for what its buyer still owed, in each currency, and only for that parcel', () => {
    const entries = returnEntries(returned, [
      { parcelId: 'p1', merchantId: 'acme', currency: 'THB', minor: 30000n },
      { parcelId: 'p2', merchantId: 'acme', currency: 'THB', minor: 100n }
    ])
    expect(entries.map((e) => [e.key, e.lines.map((l) => [l.account, l.holder, l.money.minor])])).toEqual([
      ['reversed:p1:THB', [['merchant_payable', 'acme', 30000n], ['cod_due', '', -30000n]]]
    ])
    expect(entryProblem(entries[0] as never)).toBeNull()
  })

  it('reverses nothing when the buyer owed nothing, or paid more than was due', () => {
    expect(returnEntries(returned, [])).toEqual([])
    expect(returnEntries(returned, [{ parcelId: 'p1', merchantId: 'acme', currency: 'THB', minor: -500n }])).toEqual([])
  })
})
