import type { Money } from '../money/currency.js'
import { transfer, type LedgerEntry } from './entries.js'

export const depositKey = (id: string): string => `deposit:${id}`

/** The currencies in which a hub would pay in more than it holds: such a deposit is refused whole. */
export function overdrawn (held: ReadonlyMap<string, bigint>, amounts: readonly Money[]): Array<{ currency: string, held: bigint, asked: bigint }> {
  return amounts
    .filter((money) => money.minor > (held.get(money.currency) ?? 0n))
    .map((money) => ({ currency: money.currency, held: held.get(money.currency) ?? 0n, asked: money.minor }))
}

/** A hub's cash paid into the operator's bank: hub_cash[station] → bank, per currency. */
export function depositEntry (deposit: { id: string, at: Date, stationId: string, reference: string, amounts: readonly Money[] }): LedgerEntry {
  return {
    key: depositKey(deposit.id),
    at: deposit.at,
    cause: 'deposit',
    causeRef: deposit.reference,
    parcelId: null,
    merchantId: null,
    detail: { stationId: deposit.stationId, reference: deposit.reference },
    lines: deposit.amounts.flatMap((money) => transfer(['bank', ''], ['hub_cash', deposit.stationId], money.minor, money.currency))
  }
}
