import { PDFDocument, StandardFonts, rgb, type PDFFont, type PDFPage } from 'pdf-lib'
import type { StoredBatch, StoredLine } from '../db/queries/remittances.js'
import { formatAmount } from '../money/currency.js'

const A4: [number, number] = [595.28, 841.89]
const MARGIN = 40
const ROW = 14
const COLUMNS: Array<{ title: string, x: number, right?: boolean }> = [
  { title: 'Tracking number', x: MARGIN },
  { title: 'Delivered', x: 170 },
  { title: 'COD', x: 300, right: true },
  { title: 'Fee', x: 360, right: true },
  { title: 'Deduction', x: 420, right: true },
  { title: 'Reversal', x: 480, right: true },
  { title: 'Net', x: 555, right: true }
]

/**
 * A merchant's statement of one batch, as a PDF a person can read and file: the batch, its state
 * and bank reference, one row per parcel and the totals, page after page. The same figures as the
 * CSV; no buyer's personal data. The built-in Helvetica covers Latin text only: a character it
 * cannot draw (a Thai merchant id cannot occur: ids are ASCII) is shown as "?".
 */
export async function statementPdf (batch: StoredBatch, lines: readonly StoredLine[]): Promise<Uint8Array> {
  const pdf = await PDFDocument.create()
  pdf.setTitle(`Remittance ${batch.id}`)
  pdf.setAuthor('trackstream')
  pdf.setCreationDate(batch.createdAt)
  const font = await pdf.embedFont(StandardFonts.Helvetica)
  const bold = await pdf.embedFont(StandardFonts.HelveticaBold)
  const money = (minor: bigint): string => formatAmount({ minor, currency: batch.currency })

  let page = pdf.addPage(A4)
  let y = A4[1] - MARGIN
  const write = (target: PDFPage, text: string, x: number, at: number, use: PDFFont = font, size = 9, right = false): void => {
    const safe = drawable(text, use)
    target.drawText(safe, { x: right ? x - use.widthOfTextAtSize(safe, size) : x, y: at, size, font: use, color: rgb(0.11, 0.13, 0.15) })
  }
  const header = (): void => {
    for (const column of COLUMNS) write(page, column.title, column.x, y, bold, 9, column.right === true)
    y -= 4
    page.drawLine({ start: { x: MARGIN, y }, end: { x: A4[0] - MARGIN, y }, thickness: 0.5, color: rgb(0.6, 0.63, 0.66) })
    y -= ROW
  }

  write(page, `Remittance statement: ${batch.merchantId}`, MARGIN, y, bold, 14)
  y -= 22
  for (const [label, value] of [
    ['Batch', batch.id],
    ['State', `${batch.state}${batch.bankReference === null ? '' : `, bank reference ${batch.bankReference}`}`],
    ['Deliveries', `${batch.periodFrom.toISOString().slice(0, 10)} to ${batch.periodTo.toISOString().slice(0, 10)}`],
    ['Created', batch.createdAt.toISOString()],
    ['Currency', batch.currency]
  ] as const) {
    write(page, label, MARGIN, y, bold)
    write(page, value, 120, y)
    y -= ROW
  }
  y -= 8
  header()
  for (const line of lines) {
    if (y < MARGIN + 3 * ROW) {
      page = pdf.addPage(A4)
      y = A4[1] - MARGIN
      header()
    }
    const cells = [
      line.trackingNumber,
      line.deliveredAt?.toISOString().slice(0, 16).replace('T', ' ') ?? (line.returned ? 'returned' : ''),
      line.cod === null ? '' : `${formatAmount(line.cod)}${line.cod.currency === batch.currency ? '' : ` ${line.cod.currency}`}`,
      money(line.fee), money(line.deduction), money(line.reversal), money(line.net)
    ]
    cells.forEach((cell, i) => { write(page, cell, COLUMNS[i]?.x ?? MARGIN, y, font, 9, COLUMNS[i]?.right === true) })
    y -= ROW
  }
  y -= 4
  page.drawLine({ start: { x: MARGIN, y: y + ROW - 4 }, end: { x: A4[0] - MARGIN, y: y + ROW - 4 }, thickness: 0.5, color: rgb(0.6, 0.63, 0.66) })
  for (const [label, minor] of [['Gross COD', batch.gross], ['Fees', batch.fees], ['Deductions', batch.deductions], ['Reversals', batch.reversals], ['Net paid', batch.net]] as const) {
    if (y < MARGIN + ROW) {
      page = pdf.addPage(A4)
      y = A4[1] - MARGIN
    }
    write(page, label, 420, y, bold, 9, true)
    write(page, `${money(minor)} ${batch.currency}`, 555, y, label === 'Net paid' ? bold : font, 9, true)
    y -= ROW
  }
  return await pdf.save()
}

/** The text with every character the font cannot encode replaced by "?". */
function drawable (text: string, font: PDFFont): string {
  return [...text].map((char) => {
    try {
      font.encodeText(char)
      return char
    } catch {
      return '?'
    }
  }).join('')
}
