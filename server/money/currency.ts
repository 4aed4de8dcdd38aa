import currencyCodes from 'currency-codes'

/**
 * ISO 4217, from the standard's own list (currency-codes ships it): how many minor units a
 * currency has. JPY 0, THB 2, KWD 3. Not Intl's, which follows CLDR and says IDR has 0.
 */
export function minorDigits (currency: string): number | undefined {
  return currencyCodes.code(currency)?.digits
}

export function isCurrency (currency: string): boolean {
  return /^[A-Z]{3}$/.test(currency) && minorDigits(currency) !== undefined
}

export interface Money {
  /** Integer minor units (satang, yen, fils): never a float. */
  minor: bigint
  currency: string
}

/**
 * A decimal amount as the API and driver apps send it ("450", "450.5", 450.5) in minor units,
 * exactly: the digits are read as text, so 0.1 + 0.2 never happens. Null when it is not an amount
 * of that currency (more decimals than it has, a negative, an unknown code).
 */
export function parseAmount (amount: string | number, currency: string): Money | null {
  const digits = minorDigits(currency)
  if (digits === undefined) return null
  const text = typeof amount === 'number' ? numberText(amount) : amount.trim()
  const match = /^(\d{1,15})(?:\.(\d+))?$/.exec(text ?? '')
  if (match === null) return null
  const fraction = (match[2] ?? '').replace(/0+$/, '')
  if (fraction.length > digits) return null
  return { minor: BigInt(match[1] as string) * 10n ** BigInt(digits) + BigInt(fraction.padEnd(digits, '0') || '0'), currency }
}

/** Minor units back as a decimal string with the currency's own decimals: 45050n THB → "450.50". */
export function formatAmount ({ minor, currency }: Money): string {
  const digits = minorDigits(currency) ?? 2
  const negative = minor < 0n
  const text = (negative ? -minor : minor).toString().padStart(digits + 1, '0')
  const whole = digits === 0 ? text : `${text.slice(0, -digits)}.${text.slice(-digits)}`
  return negative ? `-${whole}` : whole
}

/** An amount as the API shows it: exact minor units as a string, and the same as a decimal for people. */
export function moneyView (minor: bigint, currency: string): { currency: string, minor: string, amount: string } {
  return { currency, minor: minor.toString(), amount: formatAmount({ minor, currency }) }
}

/** A JSON number that is an exact decimal as written (450.5), or undefined for one that is not (1e21). */
function numberText (amount: number): string | undefined {
  if (!Number.isFinite(amount) || amount < 0) return undefined
  const text = String(amount)
  return /e/i.test(text) ? undefined : text
}
