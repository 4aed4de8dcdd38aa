import { isCurrency, parseAmount, type Money } from '../money/currency.js'
import { isTimeZone } from '../util/time-zone.js'
import { parseCsv, type CsvRecord } from './csv.js'
import { transfer, type LedgerEntry } from './entries.js'

/**
 * A last-mile partner that collects our cash at the door remits it on its own cycle, with a
 * settlement file (CSV) naming each parcel it pays for. How to read its file is per partner:
 * a column is named by its header (when the file has a header row) or by its position, from 1.
 */
export type ColumnRef = string | number

export interface PartnerMapping {
  trackingNumber: ColumnRef
  amount: ColumnRef
  /** The column holding each line's currency, or `fixedCurrency` for a partner paying in one. */
  currency?: ColumnRef
  fixedCurrency?: string
  /** The partner's own reference of the line (its waybill, its payment line), kept with the result. */
  reference?: ColumnRef
  /** The line's date (delivery or collection): the file's latest says which parcels it should have had. */
  date?: ColumnRef
  /** iso: 2026-12-04 or a full ISO 8601 time; dmy: 04/12/2026; mdy: 12/04/2026. */
  dateFormat: 'iso' | 'dmy' | 'mdy'
  /** IANA time zone a date without a time is a day in. */
  timezone: string
  delimiter: string
  header: boolean
  /** "1.234,50" files: ','. Grouping by the other one (1,234.50) is understood either way. */
  decimalSeparator: '.' | ','
}

export const DEFAULT_MAPPING: Omit<PartnerMapping, 'trackingNumber' | 'amount'> = { dateFormat: 'iso', timezone: 'UTC', delimiter: ',', header: true, decimalSeparator: '.' }

const columnRef = {
  oneOf: [{ type: 'string', minLength: 1, maxLength: 200 }, { type: 'integer', minimum: 1, maximum: 1000 }],
  description: 'the header\'s name (header: true), or the column\'s position from 1'
} as const

export const partnerMappingSchema = {
  type: 'object',
  required: ['trackingNumber', 'amount'],
  additionalProperties: false,
  properties: {
    trackingNumber: columnRef,
    amount: columnRef,
    currency: columnRef,
    fixedCurrency: { type: 'string', pattern: '^[A-Z]{3}$', description: 'ISO 4217: every line is in it (instead of a currency column)' },
    reference: columnRef,
    date: columnRef,
    dateFormat: { type: 'string', enum: ['iso', 'dmy', 'mdy'], default: 'iso' },
    timezone: { type: 'string', maxLength: 64, default: 'UTC', description: 'IANA, e.g. Asia/Bangkok: the day a date names' },
    delimiter: { type: 'string', minLength: 1, maxLength: 1, default: ',', description: 'one character: , ; | or a tab' },
    header: { type: 'boolean', default: true, description: 'the first record names the columns' },
    decimalSeparator: { type: 'string', enum: ['.', ','], default: '.' }
  }
} as const

/** Why a mapping cannot read files, or null. */
export function mappingProblem (mapping: PartnerMapping): string | null {
  if ((mapping.currency === undefined) === (mapping.fixedCurrency === undefined)) return 'name either a currency column or a fixedCurrency'
  if (mapping.fixedCurrency !== undefined && !isCurrency(mapping.fixedCurrency)) return `${mapping.fixedCurrency} is not an ISO 4217 currency`
  if (['"', '\r', '\n'].includes(mapping.delimiter)) return 'a quote or a line break cannot delimit fields'
  if (!mapping.header) {
    const named = columnsOf(mapping).filter(([, ref]) => typeof ref === 'string').map(([name]) => name)
    if (named.length > 0) return `a file without a header row names its columns by position: ${named.join(', ')}`
  }
  return isTimeZone(mapping.timezone) ? null : `${mapping.timezone} is not an IANA time zone`
}

function columnsOf (mapping: PartnerMapping): Array<[string, ColumnRef]> {
  const refs: Array<[string, ColumnRef | undefined]> = [['trackingNumber', mapping.trackingNumber], ['amount', mapping.amount], ['currency', mapping.currency], ['reference', mapping.reference], ['date', mapping.date]]
  return refs.filter((entry): entry is [string, ColumnRef] => entry[1] !== undefined)
}

/** One line of a settlement file, read with its partner's mapping. */
export interface SettlementRow {
  line: number
  trackingNumber: string
  /** Null when the amount is not one of the currency (the problem says why). */
  paid: Money | null
  currency: string
  reference: string | null
  /** The end of the line's day (or its exact time): parcels delivered before the file's latest were due in it. */
  until: number | null
  problem: string | null
}

export class SettlementFileError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'SettlementFileError'
  }
}

/** Reads a settlement file; a file the mapping cannot read at all (a named column it lacks, broken quoting) throws SettlementFileError. */
export function readSettlementFile (text: string, mapping: PartnerMapping): SettlementRow[] {
  let records: CsvRecord[]
  try {
    records = parseCsv(text, mapping.delimiter)
  } catch (error) {
    throw new SettlementFileError(`the file is not CSV: ${(error as Error).message}`)
  }
  const header = mapping.header ? records.shift() : undefined
  const names = header?.fields.map((name) => name.trim().toLowerCase())
  const index = (ref: ColumnRef, what: string): number => {
    if (typeof ref === 'number') return ref - 1
    const found = names?.indexOf(ref.trim().toLowerCase()) ?? -1
    if (found < 0) throw new SettlementFileError(`the file has no "${ref}" column (for the ${what}); its header: ${header?.fields.join(', ') ?? '(none)'}`)
    return found
  }
  const columns = {
    trackingNumber: index(mapping.trackingNumber, 'tracking number'),
    amount: index(mapping.amount, 'amount'),
    currency: mapping.currency === undefined ? undefined : index(mapping.currency, 'currency'),
    reference: mapping.reference === undefined ? undefined : index(mapping.reference, 'reference'),
    date: mapping.date === undefined ? undefined : index(mapping.date, 'date')
  }
  return records.map((record) => {
    const cell = (at: number | undefined): string => at === undefined ? '' : (record.fields[at] ?? '').trim()
    const trackingNumber = cell(columns.trackingNumber)
    const currency = (columns.currency === undefined ? mapping.fixedCurrency ?? '' : cell(columns.currency)).toUpperCase()
    const amountText = normalizeAmount(cell(columns.amount), mapping.decimalSeparator)
    const dateText = cell(columns.date)
    const until = dateText === '' ? null : endOf(dateText, mapping.dateFormat, mapping.timezone)
    let problem: string | null = null
    let paid: Money | null = null
    if (trackingNumber === '') problem = 'no tracking number'
    else if (!isCurrency(currency)) problem = `"${currency}" is not an ISO 4217 currency`
    else if (amountText === null || (paid = parseAmount(amountText, currency)) === null) problem = `"${cell(columns.amount)}" is not an amount of ${currency}`
    else if (dateText !== '' && until === null) problem = `"${dateText}" is not a ${mapping.dateFormat} date`
    const reference = cell(columns.reference)
    return { line: record.line, trackingNumber, paid, currency, reference: reference === '' ? null : reference, until, problem }
  })
}

/**
 * An amount as a partner's spreadsheet wrote it, as the plain decimal parseAmount reads: spaces
 * dropped, the other separator dropped where it groups thousands (1,234.50 / 1.234,50) and
 * nowhere else (1,5 with a decimal point is refused, not read as 15). Null when it is not one.
 */
export function normalizeAmount (text: string, decimalSeparator: '.' | ','): string | null {
  const compact = text.replace(/[\s\u00a0\u202f]/g, '')
  const group = decimalSeparator === '.' ? ',' : '.'
  const d = decimalSeparator === '.' ? '\\.' : ','
  const g = group === '.' ? '\\.' : ','
  const grouped = new RegExp(`^\\d{1,3}(${g}\\d{3})+(${d}\\d+)?$`)
  const plain = new RegExp(`^\\d+(${d}\\d+)?$`)
  if (!grouped.test(compact) && !plain.test(compact)) return null
  return compact.split(group).join('').replace(decimalSeparator, '.')
}

/** The instant a line's date ends (a date: the next midnight in the time zone; a time: itself), or null. */
export function endOf (text: string, format: PartnerMapping['dateFormat'], timezone: string): number | null {
  let day: [number, number, number] | undefined
  if (format === 'iso') {
    const date = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text)
    if (date !== null) day = [Number(date[1]), Number(date[2]), Number(date[3])]
    else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) {
      const ms = Date.parse(text)
      return Number.isNaN(ms) ? null : ms
    }
  } else {
    const date = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(text)
    if (date !== null) day = format === 'dmy' ? [Number(date[3]), Number(date[2]), Number(date[1])] : [Number(date[3]), Number(date[1]), Number(date[2])]
  }
  if (day === undefined) return null
  const [year, month, dayOfMonth] = day
  const utc = new Date(Date.UTC(year, month - 1, dayOfMonth))
  if (utc.getUTCFullYear() !== year || utc.getUTCMonth() !== month - 1 || utc.getUTCDate() !== dayOfMonth) return null
  return midnightIn(year, month, dayOfMonth + 1, timezone)
}

/** The instant the day begins in the time zone (Date.UTC carries day 32 into the next month). */
function midnightIn (year: number, month: number, day: number, timezone: string): number {
  const wall = Date.UTC(year, month - 1, day)
  const first = wall - offsetAt(wall, timezone)
  // across a change of offset the first guess sits on the other side of it: ask again there
  return wall - offsetAt(first, timezone)
}

/** How far the time zone's wall clock is ahead of UTC at an instant, in ms. */
function offsetAt (instant: number, timezone: string): number {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-US', {
    timeZone: timezone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit'
  }).formatToParts(instant).map((part) => [part.type, part.value]))
  const wall = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second))
  return wall - Math.floor(instant / 1000) * 1000
}

/** What the ledger and the parcel say of a tracking number a file names. */
export interface PartnerParcel {
  id: string
  trackingNumber: string
  partner: string | null
  merchantId: string | null
  /** When it was first delivered; null when it has not been. */
  deliveredAt: number | null
  /**
   * What the partner owes for it: what its delivery put into the partner's cash (ledger/door.ts),
   * or, when the delivery said nothing of cash, the parcel's COD. Null for a parcel without COD.
   */
  expected: Money | null
  /** The ledger keys of the settlement lines of this partner that booked it so far. */
  settledBy: readonly string[]
}

export type LineStatus = 'matched' | 'short_paid' | 'over_paid' | 'paid_twice' | 'not_ours' | 'not_delivered' | 'wrong_currency' | 'invalid' | 'already_imported'

export interface LineResult {
  row: SettlementRow
  parcel: PartnerParcel | null
  status: LineStatus
  /** The line's ledger entry, for a line this import books (matched, short or over paid). */
  entry: LedgerEntry | null
}

/** The ledger key of one line: the partner's remittance and the parcel, so a file imported again books nothing twice. */
export function settlementKey (partner: string, reference: string, trackingNumber: string): string {
  return ['partner', partner, reference, trackingNumber].map((part) => part.replaceAll('%', '%25').replaceAll(':', '%3A')).join(':')
}

/**
 * Each line of a partner's file, matched against our parcels:
 * - not ours: a tracking number we do not know, or another partner's parcel;
 * - not delivered: our parcel, with no delivery recorded yet (booked once a later import finds it delivered);
 * - already imported: this line of this remittance was booked by an earlier import;
 * - paid twice: the parcel was settled by another remittance, or by an earlier line of this file;
 * - wrong currency, invalid: an amount that cannot be compared;
 * - matched, short paid, over paid: the amount against what the partner collected.
 * Matched, short-paid and over-paid lines are booked: what was paid moves from the partner's
 * cash to the bank (bank +paid / partner_cash[partner] −paid), so a short payment leaves the rest
 * on the partner's account and an over payment takes it below zero (owed back to the partner).
 */
export function matchSettlement (partner: string, reference: string, rows: readonly SettlementRow[], parcels: ReadonlyMap<string, PartnerParcel>, at: Date): LineResult[] {
  const seen = new Set<string>()
  return rows.map((row): LineResult => {
    const parcel = parcels.get(row.trackingNumber) ?? null
    const result = (status: LineStatus, entry: LedgerEntry | null = null): LineResult => ({ row, parcel, status, entry })
    if (row.problem !== null && row.trackingNumber === '') return result('invalid')
    if (parcel === null || parcel.partner !== partner) return result('not_ours')
    const key = settlementKey(partner, reference, row.trackingNumber)
    if (seen.has(parcel.id)) return result('paid_twice')
    if (row.problem !== null || row.paid === null) return result('invalid')
    if (parcel.deliveredAt === null) return result('not_delivered')
    if (parcel.settledBy.includes(key)) {
      seen.add(parcel.id)
      return result('already_imported')
    }
    if (parcel.settledBy.length > 0) return result('paid_twice')
    const expected = parcel.expected
    if (expected !== null && expected.currency !== row.paid.currency) return result('wrong_currency')
    const due = expected?.minor ?? 0n
    const status: LineStatus = row.paid.minor === due ? 'matched' : row.paid.minor < due ? 'short_paid' : 'over_paid'
    if (row.paid.minor === 0n) return result(status)
    seen.add(parcel.id)
    return result(status, {
      key,
      at,
      cause: 'partner_settlement',
      causeRef: reference,
      parcelId: parcel.id,
      merchantId: parcel.merchantId,
      detail: { partner, reference, line: row.line, status, expected: due.toString(), ...(row.reference === null ? {} : { partnerReference: row.reference }) },
      lines: transfer(['bank', ''], ['partner_cash', partner], row.paid.minor, row.paid.currency, parcel.id)
    })
  })
}

/**
 * Parcels delivered before this were due in the file: the end of its latest line's date, or,
 * for a file without dates, the latest delivery among the parcels it pays. Null: no way to say.
 */
export function cutoffOf (results: readonly LineResult[]): number | null {
  let latest: number | null = null
  for (const { row } of results) if (row.until !== null && (latest === null || row.until > latest)) latest = row.until
  if (latest !== null) return latest
  for (const { parcel, status } of results) {
    if (parcel === null || parcel.deliveredAt === null || !['matched', 'short_paid', 'over_paid', 'already_imported'].includes(status)) continue
    // "before the latest delivery": the latest paid one itself was in the file
    if (latest === null || parcel.deliveredAt + 1 > latest) latest = parcel.deliveredAt + 1
  }
  return latest
}
