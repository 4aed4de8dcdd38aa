/**
 * Text PostgreSQL cannot store as it was sent. A NUL (U+0000) is refused by text and jsonb alike;
 * an unpaired UTF-16 surrogate is refused by jsonb and silently turned into U+FFFD on its way into
 * text. Either is refused here, before anything is acknowledged.
 */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** Why the string cannot be stored, or undefined if it can. */
export function textProblem (text: string): string | undefined {
  const match = UNSTORABLE.exec(text)
  if (match === null) return undefined
  return match[0] === '\u0000' ? 'holds a NUL character (U+0000)' : 'holds an unpaired UTF-16 surrogate (not valid Unicode)'
}

/**
 * The first unstorable string anywhere in a JSON-like value (object keys included), named by its
 * path, e.g. "note holds a NUL character (U+0000)". Undefined when every string is fine.
 */
export function findTextProblem (value: unknown, path = ''): string | undefined {
  if (typeof value === 'string') {
    const problem = textProblem(value)
    return problem === undefined ? undefined : `${path === '' ? 'the text' : path} ${problem}`
  }
  if (typeof value !== 'object' || value === null) return undefined
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findTextProblem(value[i], `${path}[${i}]`)
      if (found !== undefined) return found
    }
    return undefined
  }
  for (const [key, child] of Object.entries(value)) {
    const where = path === '' ? key : `${path}.${key}`
    const keyProblem = textProblem(key)
    if (keyProblem !== undefined) return `a key in ${path === '' ? 'the object' : path} ${keyProblem}`
    const found = findTextProblem(child, where)
    if (found !== undefined) return found
  }
  return undefined
}
