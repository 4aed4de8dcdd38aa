/**
 * PostgreSQL array literals for the unnest() batch inserts, built directly: pg's generic
 * serializer (prepareValue/escapeElement per element) was a tenth of the ingest thread.
 */

/** Every element quoted, so a value such as "NULL" stays a string; null and undefined are NULL. */
export function textArray (values: ReadonlyArray<string | null | undefined>): string {
  let literal = '{'
  for (let i = 0; i < values.length; i++) {
    if (i > 0) literal += ','
    const value = values[i]
    if (value === null || value === undefined) {
      literal += 'NULL'
    } else {
      literal += '"' + (NEEDS_ESCAPE.test(value) ? value.replace(ESCAPED, '\\$&') : value) + '"'
    }
  }
  return literal + '}'
}

const NEEDS_ESCAPE = /["\\]/
const ESCAPED = /["\\]/g

/** Finite numbers as PostgreSQL reads them back exactly; null, undefined and non-finite are NULL. */
export function numberArray (values: ReadonlyArray<number | null | undefined>): string {
  let literal = '{'
  for (let i = 0; i < values.length; i++) {
    if (i > 0) literal += ','
    const value = values[i]
    literal += value === null || value === undefined || !Number.isFinite(value) ? 'NULL' : String(value)
  }
  return literal + '}'
}
