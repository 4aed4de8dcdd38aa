import { describe, expect, it } from 'vitest'
import { formatAmount, isCurrency, minorDigits, parseAmount } from '../../../server/money/currency.js'

describe('money in minor units', () => {
  it('knows each currency\'s minor units from ISO 4217, not CLDR', () => {
    expect(['JPY', 'THB', 'KWD', 'IDR', 'VND', 'BHD'].map(minorDigits)).toEqual([0, 2, 3, 2, 0, 3])
    expect(isCurrency('THB')).toBe(true)
    expect(isCurrency('ABC')).toBe(false)
    expect(isCurrency('thb')).toBe(false)
  })

  it.each([
    ['450', 'THB', 45000n], ['450.5', 'THB', 45050n], ['450.50', 'THB', 45050n], [450.5, 'THB', 45050n],
    ['1200', 'JPY', 1200n], ['1.234', 'KWD', 1234n], ['0.1', 'THB', 10n], ['999999999999999', 'JPY', 999999999999999n]
  ] as const)('reads %s %s as %s minor units, exactly', (amount, currency, minor) => {
    expect(parseAmount(amount, currency)).toEqual({ minor, currency })
  })

  it.each([['1.5', 'JPY'], ['1.2345', 'KWD'], ['-1', 'THB'], ['1e3', 'THB'], [1e21, 'THB'], ['', 'THB'], ['1,5', 'THB'], ['10', 'XYZ'], [Number.NaN, 'THB']] as const)(
    'refuses %s %s', (amount, currency) => { expect(parseAmount(amount, currency)).toBeNull() })

  it('writes minor units back with the currency\'s own decimals', () => {
    expect(formatAmount({ minor: 45050n, currency: 'THB' })).toBe('450.50')
    expect(formatAmount({ minor: 5n, currency: 'KWD' })).toBe('0.005')
    expect(formatAmount({ minor: 1200n, currency: 'JPY' })).toBe('1200')
    expect(formatAmount({ minor: -2000n, currency: 'THB' })).toBe('-20.00')
  })

  it('adds what floating point would get wrong', () => {
    const a = parseAmount('0.1', 'THB')?.minor ?? 0n
    const b = parseAmount('0.2', 'THB')?.minor ?? 0n
    expect(formatAmount({ minor: a + b, currency: 'THB' })).toBe('0.30')
  })
})
