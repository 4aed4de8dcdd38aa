import type { Money } from '../money/currency.js'
import { line, type LedgerEntry, type LedgerLine } from './entries.js'

/**
 * A driver's end-of-shift handover at a hub, counted blind: the driver declares what they carry and
 * the cashier counts it, neither seeing what the ledger expects (the driver_cash balance, read by
 * the server when the count is recorded). Per currency, in minor units.
 */
export interface CountLine {
  currency: string
  /** What the ledger says the driver holds. */
  expected: bigint
  /** What the driver said they hand over (0 for a currency they did not name). */
  declared: bigint
  /** What the cashier counted (0 for a currency not counted). */
  counted: bigint
}

export type Finding = 'shortfall' | 'excess' | 'declaration_differs'

/**
 * Every currency the ledger, the driver or the cashier speaks of, in code order. A currency whose
 * three amounts are all zero is left out: there is nothing to hand over or to answer for.
 */
export function blindCount (expected: ReadonlyMap<string, bigint>, declared: readonly Money[], counted: readonly Money[]): CountLine[] {
  const sum = (list: readonly Money[], currency: string): bigint =>
    list.reduce((total, money) => money.currency === currency ? total + money.minor : total, 0n)
  const currencies = new Set([...expected.keys(), ...declared.map((m) => m.currency), ...counted.map((m) => m.currency)])
  return [...currencies].sort().map((currency) => ({
    currency,
    expected: expected.get(currency) ?? 0n,
    declared: sum(declared, currency),
    counted: sum(counted, currency)
  })).filter((l) => l.expected !== 0n || l.declared !== 0n || l.counted !== 0n)
}

/** Counted less expected: negative when the driver handed over less than they held. */
export const differenceOf = (count: CountLine): bigint => count.counted - count.expected

/** What the count says is wrong, if anything: a line with a finding is a cash_discrepancy exception. */
export function findingsOf (count: CountLine): Finding[] {
  const findings: Finding[] = []
  if (count.counted < count.expected) findings.push('shortfall')
  if (count.counted > count.expected) findings.push('excess')
  if (count.declared !== count.counted) findings.push('declaration_differs')
  return findings
}

export const handoverKey = (id: string): string => `handover:${id}`

/**
 * The handover's one ledger entry. Per currency, what was counted goes into the hub's cash and the
 * driver's cash account is emptied of what the ledger expected; the difference goes to the
 * driver's shortage account, so that after a handover the driver holds nothing in that currency
 * and what did not come out even stays on record against the driver:
 *
 *   hub_cash[station]  +counted
 *   driver_cash[driver] −expected
 *   shortage[driver]   +(expected − counted)
 *
 * The convention of the shortage account: positive is cash the driver should have handed over and
 * did not (a shortfall, owed by the driver); negative is cash handed over beyond what the ledger
 * knew of (an excess: hub_cash ← shortage, e.g. a collection whose event has not arrived yet).
 * Its balance per driver nets the two over time. Null when nothing moves (all zero).
 */
export function handoverEntry (handover: { id: string, at: Date, driver: string, stationId: string, lines: readonly CountLine[] }): LedgerEntry | null {
  const lines: LedgerLine[] = []
  for (const count of handover.lines) {
    const { currency } = count
    if (count.counted !== 0n) lines.push(line('hub_cash', handover.stationId, count.counted, currency))
    if (count.expected !== 0n) lines.push(line('driver_cash', handover.driver, -count.expected, currency))
    const shortage = count.expected - count.counted
    if (shortage !== 0n) lines.push(line('shortage', handover.driver, shortage, currency))
  }
  if (lines.length === 0) return null
  return {
    key: handoverKey(handover.id),
    at: handover.at,
    cause: 'handover',
    causeRef: handover.id,
    parcelId: null,
    merchantId: null,
    detail: { driver: handover.driver, stationId: handover.stationId },
    lines
  }
}
