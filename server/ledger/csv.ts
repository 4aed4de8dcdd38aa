/** One record of a CSV file, with the line of the file it starts on (for people reading a report). */
export interface CsvRecord {
  line: number
  fields: string[]
}

export class CsvError extends Error {
  constructor (message: string, readonly line: number) {
    super(`line ${line}: ${message}`)
    this.name = 'CsvError'
  }
}

/**
 * CSV as RFC 4180 writes it: fields split by the delimiter, records by CRLF (or a bare LF or CR,
 * as spreadsheets on other systems save them), a field in double quotes may hold the delimiter,
 * line breaks and quotes doubled (""). Lenient where files in the wild are and nothing is
 * ambiguous: a byte order mark is dropped, a quote inside an unquoted field is kept as text,
 * records may have different numbers of fields, blank lines are skipped. Strict where guessing
 * would misread money: text after a closing quote and a quote never closed are errors.
 */
export function parseCsv (text: string, delimiter = ','): CsvRecord[] {
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\r' || delimiter === '\n') throw new Error(`"${delimiter}" cannot delimit CSV fields`)
  const records: CsvRecord[] = []
  let fields: string[] = []
  let field = ''
  let line = 1
  let recordLine = 1
  let quoteLine = 1
  let inQuotes = false
  let afterQuote = false
  let fieldStart = true
  const endRecord = (): void => {
    fields.push(field)
    if (fields.length > 1 || fields[0] !== '' || afterQuote) records.push({ line: recordLine, fields })
    fields = []
    field = ''
    afterQuote = false
    fieldStart = true
  }
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0
  while (i < text.length) {
    const c = text[i] as string
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"'
          i += 2
          continue
        }
        inQuotes = false
        afterQuote = true
      } else {
        if (c === '\n' || (c === '\r' && text[i + 1] !== '\n')) line++
        field += c
      }
      i++
      continue
    }
    if (c === delimiter) {
      fields.push(field)
      field = ''
      afterQuote = false
      fieldStart = true
      i++
      continue
    }
    if (c === '\r' || c === '\n') {
      endRecord()
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1
      line++
      recordLine = line
      continue
    }
    if (afterQuote) throw new CsvError(`text after a closing quote: ${JSON.stringify(text.slice(i, i + 20))}`, line)
    if (c === '"' && fieldStart) {
      inQuotes = true
      quoteLine = line
    } else {
      field += c
    }
    fieldStart = false
    i++
  }
  if (inQuotes) throw new CsvError('a quoted field is never closed', quoteLine)
  if (!fieldStart || fields.length > 0 || afterQuote) endRecord()
  return records
}
