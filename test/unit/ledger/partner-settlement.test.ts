import { describe, expect, it } from 'vitest'
import { balances, entryProblem } from '../../../server/ledger/entries.js'
import {
  cutoffOf, DEFAULT_MAPPING, endOf, mappingProblem, matchSettlement, normalizeAmount, readSettlementFile, SettlementFileError, settlementKey,
  type PartnerMapping, type PartnerParcel
} from '../../../server/ledger/partner-settlement.js'

const MAPPING: PartnerMapping = { ...DEFAULT_MAPPING, trackingNumber: 'AWB', amount: 'COD Amount', fixedCurrency: 'THB', date: 'Delivered', reference: 'Ref' }
const AT = new Date(Date.UTC(2026, 11, 10))
const DAY = 86_400_000

const parcel = (trackingNumber: string, extra: Partial<PartnerParcel> = {}): PartnerParcel => ({
  id: `id-${trackingNumber}`,
  trackingNumber,
  partner: 'FastMile',
  merchantId: 'acme',
  deliveredAt: Date.UTC(2026, 11, 3, 10),
  expected: { currency: 'THB', minor: 45_000n },
  settledBy: [],
  ...extra
})

describe('reading a partner\'s settlement file with its mapping', () => {
  it('finds columns by header name (any case) or position, with a fixed currency or a currency column', () => {
    const rows = readSettlementFile('awb,cod amount,delivered,ref\r\nTS-1,450.00,2026-12-03,R1\r\nTS-2,"1,200.50",2026-12-04,\r\n', MAPPING)
    expect(rows).toEqual([
      { line: 2, trackingNumber: 'TS-1', paid: { currency: 'THB', minor: 45_000n }, currency: 'THB', reference: 'R1', until: Date.UTC(2026, 11, 4), problem: null },
      { line: 3, trackingNumber: 'TS-2', paid: { currency: 'THB', minor: 120_050n }, currency: 'THB', reference: null, until: Date.UTC(2026, 11, 5), problem: null }
    ])
    const byPosition: PartnerMapping = { ...DEFAULT_MAPPING, trackingNumber: 2, amount: 3, currency: 1, header: false, delimiter: ';', decimalSeparator: ',' }
    expect(readSettlementFile('jpy;TS-3;1.500\nKWD;TS-4;12,345\n', byPosition).map((r) => [r.trackingNumber, r.paid])).toEqual([
      ['TS-3', { currency: 'JPY', minor: 1500n }],
      ['TS-4', { currency: 'KWD', minor: 12_345n }]
    ])
  })

  it('says what is wrong with a line (an amount with more decimals than its currency, a bad date) and refuses a file without a named column', () => {
    const rows = readSettlementFile('AWB,COD Amount,Delivered,Ref\nTS-1,450.005,2026-12-03,\nTS-2,abc,2026-12-03,\nTS-3,1,03/12/2026,\n,5,,\n', MAPPING)
    expect(rows.map((r) => r.problem)).toEqual(['"450.005" is not an amount of THB', '"abc" is not an amount of THB', '"03/12/2026" is not a iso date', 'no tracking number'])
    expect(() => readSettlementFile('Tracking,Amount\nTS-1,1\n', MAPPING)).toThrow(SettlementFileError)
    expect(() => readSettlementFile('AWB,COD Amount\n"TS-1\n', MAPPING)).toThrow(/not CSV: line 2/)
  })

  it('reads grouped thousands only where they group, never 1,5 as 15', () => {
    expect(normalizeAmount('1,234,567.89', '.')).toBe('1234567.89')
    expect(normalizeAmount(' 1 234,5 ', ',')).toBe('1234.5')
    expect(normalizeAmount('1.234,50', ',')).toBe('1234.50')
    expect(normalizeAmount('1,5', '.')).toBeNull()
    expect(normalizeAmount('12,34.5', '.')).toBeNull()
    expect(normalizeAmount('-5', '.')).toBeNull()
  })

  it('ends a date at the next midnight in the partner\'s time zone, across a change of offset too', () => {
    expect(endOf('2026-12-03', 'iso', 'Asia/Bangkok')).toBe(Date.UTC(2026, 11, 3, 17))
    expect(endOf('03/12/2026', 'dmy', 'UTC')).toBe(Date.UTC(2026, 11, 4))
    expect(endOf('12/03/2026', 'mdy', 'UTC')).toBe(Date.UTC(2026, 11, 4))
    expect(endOf('2026-12-03T10:00:00+07:00', 'iso', 'UTC')).toBe(Date.UTC(2026, 11, 3, 3))
    // Europe/Berlin leaves summer time in the night of 24 to 25 October 2026
    expect(endOf('2026-10-24', 'iso', 'Europe/Berlin')).toBe(Date.UTC(2026, 9, 24, 22))
    expect(endOf('2026-10-25', 'iso', 'Europe/Berlin')).toBe(Date.UTC(2026, 9, 25, 23))
    expect(endOf('2026-02-30', 'iso', 'UTC')).toBeNull()
  })

  it('refuses a mapping that cannot read files', () => {
    expect(mappingProblem(MAPPING)).toBeNull()
    expect(mappingProblem({ ...MAPPING, currency: 'Currency' })).toMatch(/either a currency column or a fixedCurrency/)
    expect(mappingProblem({ ...DEFAULT_MAPPING, trackingNumber: 'AWB', amount: 2, fixedCurrency: 'THB', header: false })).toMatch(/by position: trackingNumber/)
    expect(mappingProblem({ ...MAPPING, timezone: 'Mars/Olympus' })).toMatch(/not an IANA time zone/)
    expect(mappingProblem({ ...MAPPING, fixedCurrency: 'XYZ' })).toMatch(/not an ISO 4217/)
  })
})

describe('matching a settlement file parcel by parcel', () => {
  const file = (lines: string[]): ReturnType<typeof readSettlementFile> => readSettlementFile(['AWB,COD Amount,Delivered,Ref', ...lines].join('\n'), MAPPING)

  it('matches, finds short and over payments, other partners\' and unknown parcels, and parcels paid twice', () => {
    const parcels = new Map([
      ['TS-OK', parcel('TS-OK')],
      ['TS-SHORT', parcel('TS-SHORT', { expected: { currency: 'THB', minor: 30_000n } })],
      ['TS-OVER', parcel('TS-OVER', { expected: { currency: 'THB', minor: 10_000n } })],
      ['TS-OTHER', parcel('TS-OTHER', { partner: 'SlowPost' })],
      ['TS-EARLIER', parcel('TS-EARLIER', { settledBy: [settlementKey('FastMile', 'REM-0', 'TS-EARLIER')] })],
      ['TS-WAY', parcel('TS-WAY', { deliveredAt: null })],
      ['TS-USD', parcel('TS-USD', { expected: { currency: 'USD', minor: 1000n } })]
    ])
    const rows = file(['TS-OK,450,2026-12-03,', 'TS-SHORT,280,2026-12-03,', 'TS-OVER,120,2026-12-03,', 'TS-OTHER,100,2026-12-03,', 'NO-SUCH,100,2026-12-03,',
      'TS-OK,450,2026-12-04,dup', 'TS-EARLIER,450,2026-12-03,', 'TS-WAY,450,2026-12-03,', 'TS-USD,10,2026-12-03,', 'TS-BAD,x,2026-12-03,'])
    const results = matchSettlement('FastMile', 'REM-1', rows, parcels, AT)
    expect(results.map((r) => [r.row.trackingNumber, r.status])).toEqual([
      ['TS-OK', 'matched'], ['TS-SHORT', 'short_paid'], ['TS-OVER', 'over_paid'], ['TS-OTHER', 'not_ours'], ['NO-SUCH', 'not_ours'],
      ['TS-OK', 'paid_twice'], ['TS-EARLIER', 'paid_twice'], ['TS-WAY', 'not_delivered'], ['TS-USD', 'wrong_currency'], ['TS-BAD', 'not_ours']
    ])
    const entries = results.flatMap((r) => r.entry === null ? [] : [r.entry])
    expect(entries.map((e) => e.key)).toEqual(['partner:FastMile:REM-1:TS-OK', 'partner:FastMile:REM-1:TS-SHORT', 'partner:FastMile:REM-1:TS-OVER'])
    for (const entry of entries) expect(entryProblem(entry)).toBeNull()
    const sums = balances(entries)
    expect(sums.get('bank||THB')).toBe(45_000n + 28_000n + 12_000n)
    expect(sums.get('partner_cash|FastMile|THB')).toBe(-(45_000n + 28_000n + 12_000n))
    expect(cutoffOf(results)).toBe(Date.UTC(2026, 11, 5))
  })

  it('reports a line booked by an earlier import of the same remittance as already imported, and books nothing for it', () => {
    const key = settlementKey('FastMile', 'REM-1', 'TS-OK')
    const results = matchSettlement('FastMile', 'REM-1', file(['TS-OK,450,,', 'TS-OK,450,,']), new Map([['TS-OK', parcel('TS-OK', { settledBy: [key] })]]), AT)
    expect(results.map((r) => [r.status, r.entry])).toEqual([['already_imported', null], ['paid_twice', null]])
    expect(cutoffOf(results)).toBe(Date.UTC(2026, 11, 3, 10) + 1)
  })

  it('keeps keys apart whatever the names hold', () => {
    expect(settlementKey('a:b', 'c', 'd')).not.toBe(settlementKey('a', 'b:c', 'd'))
    expect(settlementKey('Fast Mile', 'REM 1', 'TS-1')).toBe('partner:Fast Mile:REM 1:TS-1')
  })
})
