import type { Money } from '../money/currency.js'

/**
 * The ledger's accounts. Debits are positive: cod_due is what buyers owe, the cash accounts what a
 * driver, hub, partner, payment provider or the operator's bank holds; merchant_payable (a credit,
 * so negative) is what the operator owes merchants, fees what it has earned, shortage what went
 * missing on the way (a discrepancy someone must answer for).
 */
export const ACCOUNTS = ['cod_due', 'driver_cash', 'hub_cash', 'partner_cash', 'provider', 'bank', 'merchant_payable', 'fees', 'shortage'] as const
export type Account = typeof ACCOUNTS[number]

export interface LedgerLine {
  account: Account
  /** Whose: the driver, the hub, the partner, the merchant; '' for the operator's own. */
  holder: string
  money: Money
  parcelId: string | null
}

export interface LedgerEntry {
  /** The cause's own identity: an entry with a key already recorded is not recorded again. */
  key: string
  at: Date
  cause: 'delivery' | 'collection' | 'handover' | 'deposit' | 'partner_settlement' | 'return' | 'remittance' | 'correction'
  causeRef: string | null
  parcelId: string | null
  merchantId: string | null
  detail: Record<string, unknown>
  lines: LedgerLine[]
}

/** Why an entry cannot be recorded (its lines do not sum to zero in each currency, or a line is zero), or null. */
export function entryProblem (entry: LedgerEntry): string | null {
  if (entry.lines.length < 2) return `entry ${entry.key} has fewer than two lines`
  const sums = new Map<string, bigint>()
  for (const line of entry.lines) {
    if (line.money.minor === 0n) return `entry ${entry.key} has a zero line (${line.account})`
    sums.set(line.money.currency, (sums.get(line.money.currency) ?? 0n) + line.money.minor)
  }
  for (const [currency, sum] of sums) if (sum !== 0n) return `entry ${entry.key} does not balance in ${currency} (${sum})`
  return null
}

/** A line moving `minor` of `currency` into (positive) or out of (negative) an account. */
export function line (account: Account, holder: string, minor: bigint, currency: string, parcelId: string | null = null): LedgerLine {
  return { account, holder, money: { minor, currency }, parcelId }
}

/** Two lines: `minor` moves from one account to another (debit the first, credit the second). */
export function transfer (to: [Account, string], from: [Account, string], minor: bigint, currency: string, parcelId: string | null = null): LedgerLine[] {
  return [line(to[0], to[1], minor, currency, parcelId), line(from[0], from[1], -minor, currency, parcelId)]
}

/** Sums lines into balances per account, holder and currency: what the ledger says, from entries alone. */
export function balances (entries: readonly LedgerEntry[]): Map<string, bigint> {
  const sums = new Map<string, bigint>()
  for (const entry of entries) {
    for (const { account, holder, money } of entry.lines) {
      const key = `${account}|${holder}|${money.currency}`
      sums.set(key, (sums.get(key) ?? 0n) + money.minor)
    }
  }
  return sums
}
