import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CsvError, parseCsv } from '../../../server/ledger/csv.js'

const fieldsOf = (text: string, delimiter?: string): string[][] => parseCsv(text, delimiter).map((r) => r.fields)

describe('CSV as RFC 4180 writes it', () => {
  it('splits fields and records, with CRLF, LF or CR line breaks and no empty record for the last break', () => {
    expect(fieldsOf('a,b,c\r\n1,2,3\r\n')).toEqual([['a', 'b', 'c'], ['1', '2', '3']])
    expect(fieldsOf('a,b\n1,2')).toEqual([['a', 'b'], ['1', '2']])
    expect(fieldsOf('a,b\r1,2\r')).toEqual([['a', 'b'], ['1', '2']])
    expect(fieldsOf('a,,c,\n')).toEqual([['a', '', 'c', '']])
  })

  it('reads quoted fields holding the delimiter, doubled quotes and line breaks, and says on which line each record starts', () => {
    const records = parseCsv('tn,note,amount\r\nTS-1,"Soi 4, ""blue"" gate\r\nsecond floor",450.00\r\nTS-2,"",300\r\n')
    expect(records).toEqual([
      { line: 1, fields: ['tn', 'note', 'amount'] },
      { line: 2, fields: ['TS-1', 'Soi 4, "blue" gate\r\nsecond floor', '450.00'] },
      { line: 4, fields: ['TS-2', '', '300'] }
    ])
  })

  it('takes another delimiter, drops a byte order mark, skips blank lines and keeps a quote inside an unquoted field', () => {
    expect(fieldsOf('\uFEFFtn;amount\n\nTS-1;1.234,50\n', ';')).toEqual([['tn', 'amount'], ['TS-1', '1.234,50']])
    expect(fieldsOf('5" tube,1\n')).toEqual([['5" tube', '1']])
    expect(fieldsOf('a\tb\n', '\t')).toEqual([['a', 'b']])
  })

  it('refuses text after a closing quote and a quote never closed, naming the line', () => {
    expect(() => parseCsv('a,b\n"x"y,1\n')).toThrow(new CsvError('text after a closing quote: "y,1\\n"', 2))
    expect(() => parseCsv('a\n"open,1\n2\n')).toThrow(/line 2: a quoted field is never closed/)
    expect(() => parseCsv('a', '"')).toThrow(/cannot delimit/)
  })

  it('reads back any table written with RFC 4180 quoting (property)', () => {
    const cell = fc.string({ unit: fc.constantFrom('a', 'b', '1', ' ', ',', '"', '\n', '\r\n', 'ก', ';'), maxLength: 8 })
    fc.assert(fc.property(fc.array(fc.array(cell, { minLength: 2, maxLength: 5 }), { minLength: 1, maxLength: 6 }), fc.boolean(), (table, finalBreak) => {
      const quote = (value: string): string => /[",\r\n]/.test(value) || value === '' ? `"${value.replaceAll('"', '""')}"` : value
      const text = table.map((row) => row.map(quote).join(',')).join('\r\n') + (finalBreak ? '\r\n' : '')
      expect(fieldsOf(text)).toEqual(table)
    }))
  })
})
