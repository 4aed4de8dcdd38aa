import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { doorEntries } from '../../../server/ledger/door.js'
import { balances, entryProblem, type LedgerEntry } from '../../../server/ledger/entries.js'
import {
  batchEntries, convert, dayText, isDue, localDay, parseRate, payableFrom, payoutEntry, planRemittance, rateFor,
  type FxRate, type RemittanceCandidate, type RemittanceTerms
} from '../../../server/ledger/remittance.js'
import type { SettlementCycle } from '../../../server/ledger/settlement.js'
import type { MilestoneRow } from '../../../server/model.js'
import { formatAmount } from '../../../server/money/currency.js'

// 2025-01-03 is a Friday
const FRI = new Date('2025-01-03T03:00:00Z')
const at = (iso: string): Date => new Date(iso)

const candidate = (id: string, minor: bigint, currency: string, extra: Partial<RemittanceCandidate> = {}): RemittanceCandidate => ({
  parcelId: id, trackingNumber: id.toUpperCase(), codCurrency: currency, deliveredAt: FRI, returnedAt: null, collected: [{ minor, currency }], ...extra
})

const terms = (currency: string | null, fees: RemittanceTerms['fees'] = {}, cycle: RemittanceTerms['cycle'] = { kind: 'days_after_delivery', days: 0, workingDays: false }): RemittanceTerms =>
  ({ currency, timezone: 'Asia/Bangkok', cycle, fees })

const rate = (from: string, to: string, value: string, validFrom = '2025-01-01T00:00:00Z'): FxRate => ({ from, to, rate: value, validFrom: at(validFrom) })

describe('converting between currencies, exactly', () => {
  it('reads a rate as a scaled integer, never a float', () => {
    expect(parseRate('36.25')).toEqual({ scaled: 3625n, scale: 2 })
    expect(parseRate('0.000000000001')).toEqual({ scaled: 1n, scale: 12 })
    expect(parseRate('0')).toBeNull()
    expect(parseRate('1e3')).toBeNull()
    expect(parseRate('-1')).toBeNull()
  })

  it('converts between currencies of 0, 2 and 3 decimals, rounding half up to the minor unit', () => {
    expect(convert({ minor: 1000n, currency: 'JPY' }, 'THB', '0.2351')).toBe(23510n) // ¥1000 → ฿235.10
    expect(convert({ minor: 1234n, currency: 'KWD' }, 'THB', '110.5')).toBe(13636n) // 1.234 KWD → ฿136.357 → ฿136.36
    expect(convert({ minor: 45000n, currency: 'THB' }, 'KWD', '0.00905')).toBe(4073n) // ฿450 → 4.0725 KWD → 4.073
    expect(convert({ minor: 45050n, currency: 'THB' }, 'JPY', '4.25')).toBe(1915n) // ฿450.50 → ¥1914.625 → ¥1915
    expect(convert({ minor: 2n, currency: 'JPY' }, 'THB', '0.0125')).toBe(3n) // 2.5 satang: half up
    expect(convert({ minor: 1n, currency: 'JPY' }, 'THB', '0.0125')).toBe(1n) // 1.25 satang
    expect(convert({ minor: 0n, currency: 'JPY' }, 'THB', '0.2351')).toBe(0n)
    expect(convert({ minor: 100n, currency: 'XXZ' }, 'THB', '1')).toBeNull()
  })

  it('stays exact where floating point would not (0.1 + 0.2)', () => {
    // 3 × 0.1 in floats is 0.30000000000000004; ¥1,000,000,000,000 at 0.3 THB is exactly ฿300,000,000,000
    expect(convert({ minor: 1_000_000_000_000n, currency: 'JPY' }, 'THB', '0.3')).toBe(30_000_000_000_000n)
  })

  it('takes the rate in force: the latest valid at that moment', () => {
    const rates = [rate('JPY', 'THB', '0.23', '2025-01-01T00:00:00Z'), rate('JPY', 'THB', '0.24', '2025-01-02T00:00:00Z'), rate('JPY', 'THB', '0.25', '2025-02-01T00:00:00Z')]
    expect(rateFor(rates, 'JPY', 'THB', FRI)?.rate).toBe('0.24')
    expect(rateFor(rates, 'THB', 'JPY', FRI)).toBeUndefined()
    expect(rateFor(rates, 'JPY', 'THB', at('2024-12-31T00:00:00Z'))).toBeUndefined()
  })
})

describe('when a parcel is payable, in the merchant\'s time zone', () => {
  it('counts working days, skipping Saturday and Sunday', () => {
    const friday = localDay(FRI, 'UTC')
    expect(dayText(payableFrom(friday, 0, true))).toBe('2025-01-03')
    expect(dayText(payableFrom(friday, 1, true))).toBe('2025-01-06') // Monday
    expect(dayText(payableFrom(friday, 2, true))).toBe('2025-01-07')
    expect(dayText(payableFrom(friday + 1, 0, true))).toBe('2025-01-06') // Saturday, D+0: Monday
    expect(dayText(payableFrom(friday + 1, 1, true))).toBe('2025-01-06')
    expect(dayText(payableFrom(friday, 2, false))).toBe('2025-01-05')
  })

  it('takes the day from the merchant\'s time zone, not UTC', () => {
    // Thursday 18:00 UTC is Friday 01:00 in Bangkok: D+1 working day is Monday there
    const delivered = at('2025-01-02T18:00:00Z')
    const cycle = { kind: 'days_after_delivery', days: 1, workingDays: true } as const
    expect(isDue(delivered, at('2025-01-05T18:00:00Z'), 'Asia/Bangkok', cycle)).toBe(true) // Monday 01:00 in Bangkok
    expect(isDue(delivered, at('2025-01-05T16:00:00Z'), 'Asia/Bangkok', cycle)).toBe(false) // Sunday 23:00 in Bangkok
    // in UTC the same delivery was on Thursday, so Friday pays it
    expect(isDue(delivered, at('2025-01-03T12:00:00Z'), 'UTC', cycle)).toBe(true)
    expect(isDue(delivered, at('2025-01-03T12:00:00Z'), 'Asia/Bangkok', cycle)).toBe(false)
  })

  it('treats a cycle stored without workingDays as working days (the default)', () => {
    expect(isDue(FRI, at('2025-01-05T12:00:00Z'), 'UTC', { kind: 'days_after_delivery', days: 1 } as never)).toBe(false)
    expect(isDue(FRI, at('2025-01-06T12:00:00Z'), 'UTC', { kind: 'days_after_delivery', days: 1 } as never)).toBe(true)
  })

  it('pays weekly on the named weekdays for what was delivered before, and catches up a missed payday', () => {
    const wednesdays: SettlementCycle = { kind: 'weekly', weekdays: [3] }
    const tuesday = at('2025-01-07T05:00:00Z')
    const wednesday = at('2025-01-08T05:00:00Z')
    expect(isDue(tuesday, at('2025-01-07T10:00:00Z'), 'UTC', wednesdays)).toBe(false)
    expect(isDue(tuesday, at('2025-01-08T10:00:00Z'), 'UTC', wednesdays)).toBe(true)
    expect(isDue(wednesday, at('2025-01-08T10:00:00Z'), 'UTC', wednesdays)).toBe(false) // delivered on payday: next week
    expect(isDue(tuesday, at('2025-01-09T10:00:00Z'), 'UTC', wednesdays)).toBe(true) // the payday was missed: caught up
    expect(isDue(wednesday, at('2025-01-14T10:00:00Z'), 'UTC', wednesdays)).toBe(false)
    expect(isDue(wednesday, at('2025-01-15T10:00:00Z'), 'UTC', wednesdays)).toBe(true)
  })
})

describe('planning a merchant\'s batch', () => {
  it('THB (2 decimals): gross, a 2 % COD fee with a minimum, a fixed fee per parcel, net', () => {
    const plan = planRemittance(terms('THB', { codFeeBasisPoints: 200, codFeeMinimum: 1500, fixedPerParcel: 500 }),
      [candidate('a', 45000n, 'THB'), candidate('b', 30000n, 'THB'), candidate('c', 120050n, 'THB')], [], FRI)
    expect(plan.notDue).toEqual([])
    expect(plan.leftOut).toEqual([])
    expect(plan.batches).toHaveLength(1)
    const [batch] = plan.batches
    expect(batch?.currency).toBe('THB')
    expect(batch?.lines.map((l) => [l.trackingNumber, l.gross, l.codFee, l.fixedFee, l.net])).toEqual([
      ['A', 45000n, 1500n, 500n, 43000n], // 2 % is 9.00: the minimum 15.00
      ['B', 30000n, 1500n, 500n, 28000n],
      ['C', 120050n, 2401n, 500n, 117149n] // 2 % of 1200.50 is 24.01
    ])
    expect(batch?.totals).toEqual({ gross: 195050n, fees: 6901n, deductions: 0n, reversals: 0n, net: 188149n, lines: 3 })
  })

  it('JPY (0 decimals): the fee in whole yen, and a line collected in THB converted at the recorded rate', () => {
    const plan = planRemittance(terms('JPY', { codFeeBasisPoints: 250, codFeeMinimum: 100 }),
      [candidate('yen', 3000n, 'JPY'), candidate('baht', 45050n, 'THB')], [rate('THB', 'JPY', '4.25')], FRI)
    const lines = plan.batches[0]?.lines ?? []
    expect(lines.map((l) => [l.trackingNumber, l.cod, l.rate, l.gross, l.codFee, l.net])).toEqual([
      ['BAHT', { minor: 45050n, currency: 'THB' }, '4.25', 1915n, 100n, 1815n], // ¥1914.625 → ¥1915; 2.5 % is ¥47.875 → ¥48 < ¥100
      ['YEN', { minor: 3000n, currency: 'JPY' }, null, 3000n, 100n, 2900n] // 2.5 % of ¥3000 is ¥75 < ¥100
    ])
    expect(plan.batches[0]?.totals).toMatchObject({ gross: 4915n, fees: 200n, net: 4715n })
  })

  it('KWD (3 decimals): fils, and the COD fee rounded half up', () => {
    const plan = planRemittance(terms('KWD', { codFeeBasisPoints: 150 }), [candidate('k', 12345n, 'KWD')], [], FRI)
    // 1.5 % of 12.345 KWD is 0.185175 → 0.185
    expect(plan.batches[0]?.lines[0]).toMatchObject({ gross: 12345n, codFee: 185n, net: 12160n })
  })

  it('reverses a returned parcel\'s COD and applies the return charge; nothing else is charged on it', () => {
    const returned = at('2025-01-03T06:00:00Z')
    const plan = planRemittance(terms('THB', { codFeeBasisPoints: 200, codFeeMinimum: 1500, fixedPerParcel: 500, returnCharge: 4000 }), [
      candidate('kept', 45000n, 'THB'),
      candidate('back', 30000n, 'THB', { returnedAt: returned }),
      candidate('refused', 0n, 'THB', { deliveredAt: null, returnedAt: returned, collected: [] })
    ], [], FRI)
    const byNumber = new Map(plan.batches[0]?.lines.map((l) => [l.trackingNumber, l]))
    expect(byNumber.get('BACK')).toMatchObject({ returned: true, gross: 30000n, fee: 0n, returnCharge: 4000n, deduction: 4000n, reversal: 30000n, net: -4000n })
    expect(byNumber.get('REFUSED')).toMatchObject({ returned: true, cod: null, gross: 0n, reversal: 0n, deduction: 4000n, net: -4000n })
    expect(plan.batches[0]?.totals).toEqual({ gross: 75000n, fees: 2000n, deductions: 8000n, reversals: 30000n, net: 35000n, lines: 3 })
    const t = plan.batches[0]?.totals
    expect(t === undefined ? null : t.gross - t.fees - t.deductions - t.reversals).toBe(t?.net)
  })

  it('deducts no shipping: parcels carry no shipping charge yet (0), even when the merchant\'s shipping is "deducted"', () => {
    const plan = planRemittance(terms('THB', { shipping: 'deducted' }), [candidate('a', 45000n, 'THB')], [], FRI)
    expect(plan.batches[0]?.lines[0]).toMatchObject({ shipping: 0n, deduction: 0n, net: 45000n })
    const charged = planRemittance(terms('THB', { shipping: 'deducted' }), [candidate('a', 45000n, 'THB', { shippingMinor: 6000n })], [], FRI)
    expect(charged.batches[0]?.lines[0]).toMatchObject({ shipping: 6000n, deduction: 6000n, net: 39000n })
  })

  it('leaves out and reports a parcel whose currency has no rate, and keeps waiting ones out', () => {
    const plan = planRemittance(terms('THB', {}, { kind: 'days_after_delivery', days: 2, workingDays: true }), [
      candidate('old', 45000n, 'THB', { deliveredAt: at('2024-12-30T03:00:00Z') }),
      candidate('usd', 1500n, 'USD', { deliveredAt: at('2024-12-30T03:00:00Z') }),
      candidate('new', 45000n, 'THB')
    ], [rate('USD', 'THB', '34', '2025-02-01T00:00:00Z')], FRI)
    expect(plan.batches.map((b) => b.lines.map((l) => l.trackingNumber))).toEqual([['OLD']])
    expect(plan.leftOut).toEqual([{ parcelId: 'usd', trackingNumber: 'USD', reason: 'no_rate', currency: 'USD' }])
    expect(plan.notDue).toEqual(['new'])
  })

  it('pays a merchant without a settlement currency in each parcel\'s own, one batch per currency', () => {
    const plan = planRemittance(terms(null), [candidate('a', 45000n, 'THB'), candidate('b', 5000n, 'JPY'), candidate('c', 100n, 'THB')], [], FRI)
    expect(plan.batches.map((b) => [b.currency, b.totals.gross, b.totals.lines])).toEqual([['JPY', 5000n, 1], ['THB', 45100n, 2]])
  })
})

describe('the ledger of a batch', () => {
  const M = 'acme'
  const milestone = (parcelId: string, amount: string, currency: string): MilestoneRow => ({
    parcelId, code: 'delivered', time: FRI.getTime(), stationId: null, lat: null, lon: null, source: 'driver',
    deviceId: 'driver-7', vehicleId: null, note: null, detail: { cod: { amount, currency } }
  })
  const payableOf = (entries: LedgerEntry[], parcel: string): Map<string, bigint> => {
    const sums = new Map<string, bigint>()
    for (const entry of entries) {
      for (const l of entry.lines) {
        if (l.account === 'merchant_payable' && l.parcelId === parcel) sums.set(l.money.currency, (sums.get(l.money.currency) ?? 0n) + l.money.minor)
      }
    }
    return sums
  }

  it('books fees, conversions and reversals that balance, and leaves exactly the net to pay out', () => {
    const door = [
      ...doorEntries(milestone('p1', '450', 'THB'), { id: 'p1', merchantId: M, codAmount: '450', codCurrency: 'THB' }),
      ...doorEntries(milestone('p2', '1000', 'JPY'), { id: 'p2', merchantId: M, codAmount: '1000', codCurrency: 'JPY' }),
      ...doorEntries(milestone('p3', '300', 'THB'), { id: 'p3', merchantId: M, codAmount: '300', codCurrency: 'THB' })
    ]
    const plan = planRemittance(terms('THB', { codFeeBasisPoints: 200, codFeeMinimum: 1500, returnCharge: 4000 }), [
      candidate('p1', 45000n, 'THB'),
      candidate('p2', 1000n, 'JPY'),
      candidate('p3', 30000n, 'THB', { returnedAt: FRI })
    ], [rate('JPY', 'THB', '0.2351')], FRI)
    const batch = plan.batches[0]
    if (batch === undefined) throw new Error('no batch')
    const built = batchEntries('b1', M, batch, FRI)
    expect(built.map((e) => e.key).sort()).toEqual(['remittance-fee:b1:p1', 'remittance-fee:b1:p2', 'remittance-fee:b1:p3', 'remittance-fx:b1:p2', 'remittance-reversal:b1:p3'])
    expect(built.find((e) => e.key === 'remittance-fx:b1:p2')?.detail).toEqual({ rate: '0.2351', from: 'JPY', to: 'THB' })
    for (const entry of built) expect(entryProblem(entry)).toBeNull()
    // built: what each parcel leaves owed to the merchant is its line's net, in the batch's currency
    for (const l of batch.lines) {
      const owed = payableOf([...door, ...built], l.parcelId)
      expect(owed.get('THB') ?? 0n, l.parcelId).toBe(-l.net)
      expect(owed.get('JPY') ?? 0n, l.parcelId).toBe(0n)
    }
    const payout = payoutEntry('b1', M, 'THB', batch.totals.net, FRI, 'BANK-1')
    expect(payout?.key).toBe('remittance-paid:b1')
    expect(entryProblem(payout as LedgerEntry)).toBeNull()
    const all = [...door, ...built, payout as LedgerEntry]
    const sums = balances(all)
    expect(sums.get(`merchant_payable|${M}|THB`)).toBe(0n)
    expect(sums.get(`merchant_payable|${M}|JPY`)).toBe(0n)
    expect(sums.get('bank||THB')).toBe(-batch.totals.net + 23510n) // the bank paid the net, and bought ฿235.10 with ¥1000
    expect(sums.get('bank||JPY')).toBe(-1000n)
    expect(sums.get('fees||THB')).toBe(-(batch.totals.fees + batch.totals.deductions))
  })

  it('pays nothing out for a batch whose lines net to nothing', () => {
    expect(payoutEntry('b', M, 'THB', 0n, FRI, 'R')).toBeNull()
    // returns outweighing deliveries: the merchant pays the operator
    expect(payoutEntry('b', M, 'THB', -4000n, FRI, 'R')?.lines.map((l) => [l.account, l.money.minor])).toEqual([['merchant_payable', -4000n], ['bank', 4000n]])
  })

  it('always balances, leaves each parcel owed its net once built and the merchant owed nothing once paid (property)', () => {
    const currencies = ['THB', 'JPY', 'KWD'] as const
    fc.assert(fc.property(
      fc.array(fc.record({
        currency: fc.constantFrom(...currencies),
        minor: fc.bigInt({ min: 1n, max: 10_000_000n }),
        returned: fc.boolean()
      }), { minLength: 1, maxLength: 12 }),
      fc.constantFrom(...currencies),
      fc.record({ codFeeBasisPoints: fc.integer({ min: 0, max: 1000 }), codFeeMinimum: fc.integer({ min: 0, max: 5000 }), fixedPerParcel: fc.integer({ min: 0, max: 1000 }), returnCharge: fc.integer({ min: 0, max: 5000 }) }),
      (parcels, settlement, fees) => {
        const candidates = parcels.map((p, i) => candidate(`p${i}`, p.minor, p.currency, p.returned ? { returnedAt: FRI } : {}))
        const rates = currencies.flatMap((from) => currencies.filter((to) => to !== from).map((to) => rate(from, to, '1.2345')))
        const door = parcels.flatMap((p, i) => {
          const amount = formatAmount({ minor: p.minor, currency: p.currency })
          return doorEntries(milestone(`p${i}`, amount, p.currency), { id: `p${i}`, merchantId: M, codAmount: amount, codCurrency: p.currency })
        })
        const plan = planRemittance(terms(settlement, fees), candidates, rates, FRI)
        expect(plan.leftOut).toEqual([])
        const batch = plan.batches[0]
        if (batch === undefined) throw new Error('no batch')
        expect(batch.lines).toHaveLength(parcels.length)
        const built = batchEntries('b', M, batch, FRI)
        for (const l of batch.lines) {
          for (const [currency, sum] of payableOf([...door, ...built], l.parcelId)) expect(sum, `${l.parcelId} ${currency}`).toBe(currency === settlement ? -l.net : 0n)
        }
        const payout = payoutEntry('b', M, settlement, batch.totals.net, FRI, 'R')
        const all = [...door, ...built, ...(payout === null ? [] : [payout])]
        for (const entry of all) expect(entryProblem(entry)).toBeNull()
        for (const [key, sum] of balances(all)) if (key.startsWith('merchant_payable|')) expect(sum, key).toBe(0n)
        const t = batch.totals
        expect(t.net).toBe(t.gross - t.fees - t.deductions - t.reversals)
      }
    ), { numRuns: 300 })
  })
})
