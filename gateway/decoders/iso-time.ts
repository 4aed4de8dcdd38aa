/**
 * ISO-8601 date-times as devices send them: up to 9 fractional digits (TTS, ChirpStack and Impinj
 * send nanoseconds), truncated to the millisecond; Z, or an offset with or without a colon (Zebra
 * sends -0600, which Date.parse does not accept everywhere); a space instead of the T; seconds
 * optional. Impossible dates (2014-02-30) are undefined, never NaN and never rolled over.
 */
export function parseIsoTime (value: unknown, { zonelessAsUtc = false } = {}): number | undefined {
  if (typeof value !== 'string') return undefined
  const match = ISO_TIME.exec(value)
  if (match === null) return undefined
  const [, year, month, day, hour, minute, second = '0', fraction = '', zone = ''] = match
  if (zone === '' && !zonelessAsUtc) return undefined
  const [y, mo, d, h, mi, s] = [year, month, day, hour, minute, second].map(Number) as [number, number, number, number, number, number]
  if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || s > 59) return undefined
  const ms = Number(fraction.slice(0, 3).padEnd(3, '0'))
  return Date.UTC(y, mo - 1, d, h, mi, s, ms) - offsetMinutes(zone) * 60_000
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i

function offsetMinutes (zone: string): number {
  if (zone === '' || zone.toUpperCase() === 'Z') return 0
  const sign = zone.startsWith('-') ? -1 : 1
  const digits = zone.slice(1).replace(':', '')
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0'))
}

function daysIn (year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate()
}
