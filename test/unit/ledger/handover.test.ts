import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { depositEntry, overdrawn } from '../../../server/ledger/deposit.js'
import { balances, entryProblem } from '../../../server/ledger/entries.js'
import { blindCount, differenceOf, findingsOf, handoverEntry } from '../../../server/ledger/handover.js'

const thb = (minor: bigint): { currency: string, minor: bigint } => ({ currency: 'THB', minor })
const AT = new Date(Date.UTC(2026, 11, 4, 18))
const must = <T>(value: T | null | undefined): T => {
  if (value === null || value === undefined) throw new Error('missing')
  return value
}

describe('the driver\'s handover, counted blind', () => {
  it('books a shortfall: the hub gets what was counted, the driver\'s cash is emptied and the rest is a shortage against the driver', () => {
    const lines = blindCount(new Map([['THB', 100_000n]]), [thb(100_000n)], [thb(98_000n)])
    expect(lines).toEqual([{ currency: 'THB', expected: 100_000n, declared: 100_000n, counted: 98_000n }])
    expect(differenceOf(must(lines[0]))).toBe(-2_000n)
    expect(findingsOf(must(lines[0]))).toEqual(['shortfall', 'declaration_differs'])
    const entry = handoverEntry({ id: 'h1', at: AT, driver: 'driver-7', stationId: 'HUB', lines })
    expect(entryProblem(must(entry))).toBeNull()
    expect(must(entry).key).toBe('handover:h1')
    const sums = balances([must(entry)])
    expect(sums.get('hub_cash|HUB|THB')).toBe(98_000n)
    expect(sums.get('driver_cash|driver-7|THB')).toBe(-100_000n)
    expect(sums.get('shortage|driver-7|THB')).toBe(2_000n)
  })

  it('books an excess from the shortage account (below zero) into the hub, and a count that comes out even with nothing to answer for', () => {
    const excess = blindCount(new Map([['THB', 50_000n]]), [thb(52_000n)], [thb(52_000n)])
    expect(findingsOf(must(excess[0]))).toEqual(['excess'])
    const sums = balances([must(handoverEntry({ id: 'h2', at: AT, driver: 'd', stationId: 'HUB', lines: excess }))])
    expect(sums.get('hub_cash|HUB|THB')).toBe(52_000n)
    expect(sums.get('shortage|d|THB')).toBe(-2_000n)
    const even = blindCount(new Map([['THB', 50_000n]]), [thb(50_000n)], [thb(50_000n)])
    expect(findingsOf(must(even[0]))).toEqual([])
    expect(must(handoverEntry({ id: 'h3', at: AT, driver: 'd', stationId: 'HUB', lines: even })).lines.map((l) => l.account)).toEqual(['hub_cash', 'driver_cash'])
  })

  it('counts every currency any of the three speaks of, a currency left out as zero, and moves nothing when all is zero', () => {
    const lines = blindCount(new Map([['THB', 1_000n], ['USD', 500n]]), [{ currency: 'JPY', minor: 300n }], [thb(1_000n)])
    expect(lines).toEqual([
      { currency: 'JPY', expected: 0n, declared: 300n, counted: 0n },
      { currency: 'THB', expected: 1_000n, declared: 0n, counted: 1_000n },
      { currency: 'USD', expected: 500n, declared: 0n, counted: 0n }
    ])
    expect(findingsOf(must(lines[0]))).toEqual(['declaration_differs'])
    expect(findingsOf(must(lines[2]))).toEqual(['shortfall'])
    expect(entryProblem(must(handoverEntry({ id: 'h4', at: AT, driver: 'd', stationId: 'HUB', lines })))).toBeNull()
    expect(blindCount(new Map(), [], [])).toEqual([])
    expect(handoverEntry({ id: 'h5', at: AT, driver: 'd', stationId: 'HUB', lines: [] })).toBeNull()
  })

  it('always balances and always leaves the driver holding nothing in the counted currencies (property)', () => {
    const amount = fc.bigInt({ min: 0n, max: 10_000_000n })
    fc.assert(fc.property(fc.dictionary(fc.constantFrom('THB', 'USD', 'JPY', 'KWD'), fc.tuple(amount, amount, amount)), (byCurrency) => {
      const held = new Map(Object.entries(byCurrency).map(([c, [e]]) => [c, e]))
      const lines = blindCount(held, Object.entries(byCurrency).map(([currency, [, d]]) => ({ currency, minor: d })), Object.entries(byCurrency).map(([currency, [, , c]]) => ({ currency, minor: c })))
      const entry = handoverEntry({ id: 'p', at: AT, driver: 'd', stationId: 'HUB', lines })
      if (entry === null) return
      expect(entryProblem(entry)).toBeNull()
      const sums = balances([entry])
      for (const l of lines) {
        expect((held.get(l.currency) ?? 0n) + (sums.get(`driver_cash|d|${l.currency}`) ?? 0n)).toBe(0n)
        expect(sums.get(`hub_cash|HUB|${l.currency}`) ?? 0n).toBe(l.counted)
        expect(sums.get(`shortage|d|${l.currency}`) ?? 0n).toBe(-differenceOf(l))
      }
    }))
  })
})

describe('the hub\'s bank deposit', () => {
  it('moves the hub\'s cash to the bank, per currency', () => {
    const entry = depositEntry({ id: 'HUB:SLIP-1', at: AT, stationId: 'HUB', reference: 'SLIP-1', amounts: [thb(90_000n), { currency: 'USD', minor: 1_000n }] })
    expect(entryProblem(entry)).toBeNull()
    expect(entry.key).toBe('deposit:HUB:SLIP-1')
    const sums = balances([entry])
    expect(sums.get('bank||THB')).toBe(90_000n)
    expect(sums.get('hub_cash|HUB|THB')).toBe(-90_000n)
    expect(sums.get('bank||USD')).toBe(1_000n)
  })

  it('names the currencies in which the hub holds less than it would pay in', () => {
    const held = new Map([['THB', 98_000n]])
    expect(overdrawn(held, [thb(98_000n)])).toEqual([])
    expect(overdrawn(held, [thb(98_001n), { currency: 'USD', minor: 1n }])).toEqual([
      { currency: 'THB', held: 98_000n, asked: 98_001n },
      { currency: 'USD', held: 0n, asked: 1n }
    ])
  })
})
