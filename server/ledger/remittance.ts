import { minorDigits, type Money } from '../money/currency.js'
import { line, type LedgerEntry, type LedgerLine } from './entries.js'
import { codFee, NO_FEES, type FeeSchedule, type SettlementCycle } from './settlement.js'

/**
 * Remittance to merchants: which parcels' cash on delivery is due to the merchant, and the batch
 * that pays it out. Pure: the build (server/db/build-remittances.ts) reads the candidates and
 * writes what this plans, in one transaction.
 *
 * The rule for "payable" (the simplest defensible one for now):
 * - a parcel is a candidate once its cash was collected at the door (it has a `collection` ledger
 *   entry), or once it was returned to the sender (milestone returned_to_sender);
 * - it is payable when its cycle says so, counted from its delivery (a returned parcel: from its
 *   return) in the merchant's time zone:
 *   - D+n (days_after_delivery): on the n-th day after the local delivery date, counting only
 *     Monday to Friday when workingDays (the default), and never on a Saturday or Sunday then;
 *   - weekly: everything delivered before the latest named weekday up to today (so a payday every
 *     instance missed is caught up at the next sweep, not a week later).
 * - "Its cash reached the operator" is NOT tracked per parcel yet: a driver's handover moves the
 *   driver's pooled cash, not parcel by parcel, so a collected parcel is paid on its cycle whether
 *   or not the driver has handed over. The cycle's delay is what stands in for it.
 *
 * Money is integer minor units throughout; a parcel collected in another currency than the
 * merchant's settlement currency is converted with the rate in force (exact decimal arithmetic on
 * scaled integers, rounded half up to the settlement currency's minor unit), and the rate is kept
 * on its line. A parcel with no rate for its currency is left out of the batch and reported.
 */

export interface RemittanceCandidate {
  parcelId: string
  trackingNumber: string
  /** The parcel's declared COD currency: a returned parcel that collected nothing is charged in it. */
  codCurrency: string | null
  deliveredAt: Date | null
  returnedAt: Date | null
  /** What its collection entries took (into a driver's hands or the payment provider), per currency. */
  collected: Money[]
  /** A shipping charge to deduct (fees.shipping 'deducted'). Parcels carry no shipping charge yet: 0. */
  shippingMinor?: bigint
}

/** `rate` units of `to` for one unit of `from`, as a decimal string ("36.25"), from validFrom on. */
export interface FxRate { from: string, to: string, rate: string, validFrom: Date }

export interface RemittanceTerms {
  /** Null: each parcel is paid in its own COD currency (one batch per currency). */
  currency: string | null
  timezone: string
  cycle: SettlementCycle
  fees: Partial<FeeSchedule>
}

export interface RemittanceLine {
  parcelId: string
  trackingNumber: string
  deliveredAt: Date | null
  /** When its cycle counts from: the delivery, or the return. */
  eventAt: Date
  returned: boolean
  /** The cash collected, in its own currency; null when nothing was (a parcel returned unpaid). */
  cod: Money | null
  /** The rate used to convert cod into the batch's currency; null when they are the same. */
  rate: string | null
  /** In the batch's currency, minor units. */
  gross: bigint
  /** codFee + fixedFee. */
  fee: bigint
  codFee: bigint
  fixedFee: bigint
  /** shipping + returnCharge. */
  deduction: bigint
  shipping: bigint
  returnCharge: bigint
  /** A returned parcel's COD, taken back: its gross. */
  reversal: bigint
  /** gross − fee − deduction − reversal: may be negative (a return's charge). */
  net: bigint
}

export interface RemittanceTotals { gross: bigint, fees: bigint, deductions: bigint, reversals: bigint, net: bigint, lines: number }

export interface PlannedBatch {
  currency: string
  lines: RemittanceLine[]
  totals: RemittanceTotals
  periodFrom: Date
  periodTo: Date
}

export type LeftOutReason = 'no_rate' | 'mixed_currencies' | 'no_currency'
export interface LeftOut { parcelId: string, trackingNumber: string, reason: LeftOutReason, currency: string | null }

export interface RemittancePlan {
  batches: PlannedBatch[]
  /** Candidates whose cycle has not come yet: they wait. */
  notDue: string[]
  /** Due, but not payable as things are: reported, and tried again at the next build. */
  leftOut: LeftOut[]
}

/** The batches due at `now` from these candidates (none already remitted). */
export function planRemittance (terms: RemittanceTerms, candidates: readonly RemittanceCandidate[], rates: readonly FxRate[], now: Date): RemittancePlan {
  const fees: FeeSchedule = { ...NO_FEES, ...terms.fees }
  const byCurrency = new Map<string, RemittanceLine[]>()
  const notDue: string[] = []
  const leftOut: LeftOut[] = []
  for (const candidate of candidates) {
    const returned = candidate.returnedAt !== null
    const eventAt = returned ? candidate.returnedAt : candidate.deliveredAt
    if (eventAt === null || !isDue(eventAt, now, terms.timezone, terms.cycle)) {
      notDue.push(candidate.parcelId)
      continue
    }
    const left = (reason: LeftOutReason, currency: string | null): void => {
      leftOut.push({ parcelId: candidate.parcelId, trackingNumber: candidate.trackingNumber, reason, currency })
    }
    const collected = candidate.collected.filter((money) => money.minor !== 0n)
    if (collected.length > 1) {
      left('mixed_currencies', null)
      continue
    }
    const cod = collected[0] ?? null
    if (cod === null && !returned) {
      notDue.push(candidate.parcelId)
      continue
    }
    const currency = terms.currency ?? cod?.currency ?? candidate.codCurrency
    if (currency === null) {
      left('no_currency', null)
      continue
    }
    let gross = 0n
    let rate: string | null = null
    if (cod !== null) {
      if (cod.currency === currency) {
        gross = cod.minor
      } else {
        const found = rateFor(rates, cod.currency, currency, now)
        const converted = found === undefined ? null : convert(cod, currency, found.rate)
        if (found === undefined || converted === null) {
          left('no_rate', cod.currency)
          continue
        }
        gross = converted
        rate = found.rate
      }
    }
    const shipping = fees.shipping === 'deducted' ? (candidate.shippingMinor ?? 0n) : 0n
    const codFeeMinor = returned || gross <= 0n ? 0n : codFee(gross, fees)
    const fixedFee = returned ? 0n : BigInt(fees.fixedPerParcel)
    const returnCharge = returned ? BigInt(fees.returnCharge) : 0n
    const reversal = returned ? gross : 0n
    const fee = codFeeMinor + fixedFee
    const deduction = shipping + returnCharge
    const lines = byCurrency.get(currency) ?? []
    lines.push({
      parcelId: candidate.parcelId,
      trackingNumber: candidate.trackingNumber,
      deliveredAt: candidate.deliveredAt,
      eventAt,
      returned,
      cod,
      rate,
      gross,
      fee,
      codFee: codFeeMinor,
      fixedFee,
      deduction,
      shipping,
      returnCharge,
      reversal,
      net: gross - fee - deduction - reversal
    })
    byCurrency.set(currency, lines)
  }
  const batches = [...byCurrency].sort(([a], [b]) => a.localeCompare(b)).map(([currency, lines]): PlannedBatch => {
    lines.sort((a, b) => a.eventAt.getTime() - b.eventAt.getTime() || a.trackingNumber.localeCompare(b.trackingNumber))
    return {
      currency,
      lines,
      totals: totalsOf(lines),
      periodFrom: lines[0]?.eventAt ?? now,
      periodTo: lines[lines.length - 1]?.eventAt ?? now
    }
  })
  return { batches, notDue, leftOut }
}

export function totalsOf (lines: readonly RemittanceLine[]): RemittanceTotals {
  const totals: RemittanceTotals = { gross: 0n, fees: 0n, deductions: 0n, reversals: 0n, net: 0n, lines: lines.length }
  for (const l of lines) {
    totals.gross += l.gross
    totals.fees += l.fee
    totals.deductions += l.deduction
    totals.reversals += l.reversal
    totals.net += l.net
  }
  return totals
}

// --- exchange rates --------------------------------------------------------------------------

/** A rate as text: positive, at most 12 digits before and 12 after the point. */
export const RATE_PATTERN = '^\\d{1,12}(\\.\\d{1,12})?$'

/** A decimal rate as a scaled integer: "36.25" → 3625n / 10^2. Null for anything else or zero. */
export function parseRate (rate: string): { scaled: bigint, scale: number } | null {
  const match = new RegExp(RATE_PATTERN).exec(rate.trim())
  if (match === null) return null
  const [whole, fraction = ''] = rate.trim().split('.') as [string, string?]
  const scaled = BigInt(whole + fraction)
  return scaled === 0n ? null : { scaled, scale: fraction.length }
}

/** The rate in force at `at` from one currency to another: the latest valid from then or before. */
export function rateFor (rates: readonly FxRate[], from: string, to: string, at: Date): FxRate | undefined {
  let best: FxRate | undefined
  for (const rate of rates) {
    if (rate.from !== from || rate.to !== to || rate.validFrom.getTime() > at.getTime()) continue
    if (best === undefined || rate.validFrom.getTime() > best.validFrom.getTime()) best = rate
  }
  return best
}

/**
 * An amount in another currency, exactly: minor × rate × 10^(to's digits − from's digits), rounded
 * half up (away from zero) to `to`'s minor unit. 1000 JPY at 0.2351 THB → 23510 satang;
 * 1 KWD (1000 fils) at 118.0237 THB → 11802 satang. Null when a currency or the rate is unknown.
 */
export function convert (amount: Money, to: string, rate: string): bigint | null {
  const parsed = parseRate(rate)
  const fromDigits = minorDigits(amount.currency)
  const toDigits = minorDigits(to)
  if (parsed === null || fromDigits === undefined || toDigits === undefined) return null
  let numerator = amount.minor * parsed.scaled
  let denominator = 10n ** BigInt(parsed.scale)
  const shift = toDigits - fromDigits
  if (shift >= 0) numerator *= 10n ** BigInt(shift)
  else denominator *= 10n ** BigInt(-shift)
  const negative = numerator < 0n
  const magnitude = negative ? -numerator : numerator
  const rounded = (2n * magnitude + denominator) / (2n * denominator)
  return negative ? -rounded : rounded
}

// --- the cycle ---------------------------------------------------------------------------------

/** A civil date, as days since 1970-01-01. */
type Day = number

const DAY_MS = 86_400_000

/** The date it is at `at` in that time zone, as a day number. */
export function localDay (at: Date, timeZone: string): Day {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(at)
  const part = (type: string): number => Number(parts.find((p) => p.type === type)?.value)
  return Math.round(Date.UTC(part('year'), part('month') - 1, part('day')) / DAY_MS)
}

/** 0 Sunday … 6 Saturday. */
const weekday = (day: Day): number => new Date(day * DAY_MS).getUTCDay()
const isWeekend = (day: Day): boolean => weekday(day) === 0 || weekday(day) === 6

/** The first day a parcel delivered on `day` may be paid, under a D+n cycle. */
export function payableFrom (day: Day, days: number, workingDays: boolean): Day {
  let due = day
  if (workingDays) {
    for (let counted = 0; counted < days;) {
      due += 1
      if (!isWeekend(due)) counted += 1
    }
    while (isWeekend(due)) due += 1
  } else {
    due += days
  }
  return due
}

/** Whether something delivered (or returned) at `at` is payable at `now`, in the merchant's time zone. */
export function isDue (at: Date, now: Date, timeZone: string, cycle: SettlementCycle): boolean {
  const delivered = localDay(at, timeZone)
  const today = localDay(now, timeZone)
  if (cycle.kind === 'days_after_delivery') return today >= payableFrom(delivered, cycle.days, cycle.workingDays !== false)
  // the latest payday up to today; everything delivered before it is due
  for (let payday = today; payday > today - 7; payday--) {
    if (cycle.weekdays.includes(weekday(payday))) return delivered < payday
  }
  return false
}

/** The date a day number stands for, as YYYY-MM-DD (for reports and tests). */
export function dayText (day: Day): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10)
}

// --- the ledger --------------------------------------------------------------------------------

/**
 * What building a batch books, per line, in the batch's transaction. The merchant's payable was
 * credited with the COD at delivery (door.ts, `due:<parcel>`), so the gross itself moves nothing:
 * - a line converted from another currency: the payable in the COD currency becomes a payable in
 *   the settlement currency, the operator's bank selling the one for the other at the line's rate
 *   (`remittance-fx:<batch>:<parcel>`, the rate in its detail);
 * - a returned parcel's COD is reversed: the merchant is no longer owed it, the buyer is (cod_due
 *   goes negative until a refund or correction is booked) (`remittance-reversal:<batch>:<parcel>`);
 * - fees and deductions: what the merchant owes the operator, earned (`remittance-fee:<batch>:<parcel>`).
 * What is left in the merchant's payable for these parcels is then exactly the batch's net, paid
 * out by payoutEntry.
 */
export function batchEntries (batchId: string, merchantId: string, batch: PlannedBatch, at: Date): LedgerEntry[] {
  const entries: LedgerEntry[] = []
  const entry = (kind: string, l: RemittanceLine, lines: LedgerLine[], detail: Record<string, unknown>): void => {
    entries.push({ key: `remittance-${kind}:${batchId}:${l.parcelId}`, at, cause: 'remittance', causeRef: batchId, parcelId: l.parcelId, merchantId, detail, lines })
  }
  const S = batch.currency
  for (const l of batch.lines) {
    const p = l.parcelId
    if (l.cod !== null && l.returned) {
      entry('reversal', l, [line('merchant_payable', merchantId, l.cod.minor, l.cod.currency, p), line('cod_due', '', -l.cod.minor, l.cod.currency, p)], {})
    } else if (l.cod !== null && l.cod.currency !== S) {
      // (an amount so small that it converts to nothing still leaves the COD currency's payable)
      entry('fx', l, [
        line('merchant_payable', merchantId, l.cod.minor, l.cod.currency, p),
        line('bank', '', -l.cod.minor, l.cod.currency, p),
        ...(l.gross === 0n ? [] : [line('bank', '', l.gross, S, p), line('merchant_payable', merchantId, -l.gross, S, p)])
      ], { rate: l.rate, from: l.cod.currency, to: S })
    }
    const charged = l.fee + l.deduction
    if (charged !== 0n) {
      entry('fee', l, [line('merchant_payable', merchantId, charged, S, p), line('fees', '', -charged, S, p)],
        { codFee: l.codFee.toString(), fixedFee: l.fixedFee.toString(), shipping: l.shipping.toString(), returnCharge: l.returnCharge.toString() })
    }
  }
  return entries
}

/**
 * The payout once the bank has paid (`remittance-paid:<batch>`): the batch's net out of the
 * merchant's payable and out of the operator's bank, in two lines. (Not a line per parcel: the
 * ledger's balance check reads the whole entry for each line it inserts, so an entry of a 100,000
 * parcel batch would cost 10^10 row reads; which parcels the payout covers is remittance_lines.)
 * A negative net (returns outweighing deliveries) is the merchant paying the operator. Null when
 * there is nothing to move.
 */
export function payoutEntry (batchId: string, merchantId: string, currency: string, net: bigint, at: Date, bankReference: string): LedgerEntry | null {
  if (net === 0n) return null
  return {
    key: `remittance-paid:${batchId}`,
    at,
    cause: 'remittance',
    causeRef: bankReference,
    parcelId: null,
    merchantId,
    detail: { batch: batchId, bankReference },
    lines: [line('merchant_payable', merchantId, net, currency, null), line('bank', '', -net, currency, null)]
  }
}
