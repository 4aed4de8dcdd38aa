import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { doorEntries, type CodParcel } from '../../../server/ledger/door.js'
import { balances, entryProblem, type LedgerEntry } from '../../../server/ledger/entries.js'
import type { MilestoneRow } from '../../../server/model.js'

const PARCEL: CodParcel = { id: 'p1', merchantId: 'acme', codAmount: '450.00', codCurrency: 'THB' }

function delivered (amount: string, extra: Partial<MilestoneRow> = {}, method?: 'cash' | 'card' | 'qr'): MilestoneRow {
  return {
    parcelId: 'p1', code: 'delivered', time: Date.UTC(2026, 11, 4, 9), stationId: null, lat: null, lon: null, source: 'driver',
    deviceId: 'driver-7', vehicleId: 'VAN-1', note: null, detail: { cod: { amount, currency: 'THB', ...(method === undefined ? {} : { method }) } }, ...extra
  }
}

const balanceOf = (entries: LedgerEntry[], key: string): bigint => balances(entries).get(key) ?? 0n

describe('the cash at the door', () => {
  it('books the COD as due to the merchant and the cash into the driver\'s hands', () => {
    const entries = doorEntries(delivered('450'), PARCEL)
    expect(entries.map((e) => e.key)).toEqual(['due:p1', `paid:p1:delivered:${Date.UTC(2026, 11, 4, 9)}`])
    for (const entry of entries) expect(entryProblem(entry)).toBeNull()
    expect(balanceOf(entries, 'driver_cash|driver-7|THB')).toBe(45000n)
    expect(balanceOf(entries, 'merchant_payable|acme|THB')).toBe(-45000n)
    expect(balanceOf(entries, 'cod_due||THB')).toBe(0n)
  })

  it('sends a card or QR payment to the payment provider, not the driver', () => {
    const entries = doorEntries(delivered('450', {}, 'qr'), PARCEL)
    expect(balanceOf(entries, 'provider|qr|THB')).toBe(45000n)
    expect(balanceOf(entries, 'driver_cash|driver-7|THB')).toBe(0n)
  })

  it('leaves what a short payment did not cover owing from the buyer', () => {
    const entries = doorEntries(delivered('430'), PARCEL)
    expect(balanceOf(entries, 'cod_due||THB')).toBe(2000n)
    expect(entries[1]?.detail).toEqual({ method: 'cash', expected: '45000', expectedCurrency: 'THB' })
  })

  it('books nothing for an amount that is not one of the currency, or a parcel without COD', () => {
    expect(doorEntries(delivered('1.234'), PARCEL).map((e) => e.cause)).toEqual(['delivery'])
    expect(doorEntries(delivered('0'), { ...PARCEL, codAmount: null, codCurrency: null })).toEqual([])
  })

  it('balances whatever is paid, in any order and however often a milestone comes again (property)', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ satang: fc.bigInt({ min: 0n, max: 10_000_000n }), method: fc.constantFrom('cash', 'card', 'qr'), at: fc.integer({ min: 0, max: 5 }), repeat: fc.boolean() }), { minLength: 1, maxLength: 8 }),
      fc.bigInt({ min: 0n, max: 10_000_000n }),
      (payments, dueSatang) => {
        const parcel = { ...PARCEL, codAmount: (Number(dueSatang) / 100).toFixed(2) }
        const byKey = new Map<string, LedgerEntry>()
        for (const p of payments) {
          const amount = `${p.satang / 100n}.${(p.satang % 100n).toString().padStart(2, '0')}`
          const row = delivered(amount, { time: Date.UTC(2026, 11, 4, 9) + p.at }, p.method as 'cash')
          for (const entry of [...doorEntries(row, parcel), ...(p.repeat ? doorEntries(row, parcel) : [])]) {
            expect(entryProblem(entry)).toBeNull()
            if (!byKey.has(entry.key)) byKey.set(entry.key, entry)
          }
        }
        const entries = [...byKey.values()]
        // every account together sums to zero, and the buyer owes what was due less what was paid
        let total = 0n
        for (const value of balances(entries).values()) total += value
        expect(total).toBe(0n)
        // a milestone recorded again (same parcel, code and time) books nothing more: its first word stands
        const paidOnce = new Map<string, bigint>()
        for (const entry of entries.filter((e) => e.cause === 'collection')) paidOnce.set(entry.key, entry.lines[0]?.money.minor ?? 0n)
        const sumPaid = [...paidOnce.values()].reduce((a, b) => a + b, 0n)
        expect(balanceOf(entries, 'cod_due||THB')).toBe((dueSatang > 0n ? dueSatang : 0n) - sumPaid)
        expect(entries.filter((e) => e.cause === 'delivery').length).toBe(dueSatang > 0n ? 1 : 0)
      }))
  })
})
