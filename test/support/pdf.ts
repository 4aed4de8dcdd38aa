import { inflateSync } from 'node:zlib'

/**
 * The text a PDF draws, in drawing order, one string per text run: its content streams inflated
 * and their hex strings (`<…> Tj`, as pdf-lib writes text in the standard fonts) decoded. Enough to
 * check what a statement says without a PDF reader.
 */
export function pdfText (pdf: Uint8Array): string[] {
  const raw = Buffer.from(pdf)
  const runs: string[] = []
  let at = 0
  for (;;) {
    const begin = raw.indexOf('stream', at)
    if (begin < 0) break
    const start = raw[begin + 6] === 0x0d ? begin + 8 : begin + 7
    const end = raw.indexOf('endstream', start)
    if (end < 0) break
    let content = ''
    try {
      content = inflateSync(raw.subarray(start, end)).toString('latin1')
    } catch {
      // not a compressed content stream (a font, an image): nothing drawn as text
    }
    for (const match of content.matchAll(/<([0-9A-Fa-f]*)>\s*Tj/g)) runs.push(Buffer.from(match[1] ?? '', 'hex').toString('latin1'))
    at = end + 9
  }
  return runs
}
