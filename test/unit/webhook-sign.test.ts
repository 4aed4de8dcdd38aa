import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { DEFAULT_RETRY_BASE_MS, MAX_ATTEMPTS, retryDelayMs, shouldRetry } from '../../server/webhooks/backoff.js'
import { newSecret, sign } from '../../server/webhooks/sign.js'

const HOUR = 3_600_000

describe('webhook signatures', () => {
  it('is sha256= and the hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the secret', () => {
    const secret = 'whsec-test-0123456789'
    const timestamp = 1_795_000_000
    const body = '{"id": "0b6f8a4e-3c2d-4e55-9a51-2f1f0b7c9d10", "type": "delivered"}'
    const expected = createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')
    expect(sign(secret, timestamp, body)).toBe(`sha256=${expected}`)
  })

  it('matches a pinned vector', () => {
    // HMAC-SHA256(key "Jefe", '1700000000.{"ok":true}'), written down once so a change of scheme shows
    expect(sign('Jefe', 1_700_000_000, '{"ok":true}')).toBe('sha256=fd41acda2e1a9467394496eaa9b93c35082e9c6a104fcaeed49dbf1fe0cf9cf4')
  })

  it('changes with the secret, the timestamp and every byte of the body', () => {
    const base = sign('secret-a-0123456789', 100, '{"a":1}')
    expect(sign('secret-b-0123456789', 100, '{"a":1}')).not.toBe(base)
    expect(sign('secret-a-0123456789', 101, '{"a":1}')).not.toBe(base)
    expect(sign('secret-a-0123456789', 100, '{"a":2}')).not.toBe(base)
  })

  it('generates secrets of 32 random bytes, base64url', () => {
    const secret = newSecret()
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(Buffer.from(secret, 'base64url')).toHaveLength(32)
    expect(newSecret()).not.toBe(secret)
  })
})

describe('webhook retry schedule', () => {
  it('gives up after 10 attempts', () => {
    expect(MAX_ATTEMPTS).toBe(10)
    for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) expect(shouldRetry(attempt)).toBe(true)
    expect(shouldRetry(MAX_ATTEMPTS)).toBe(false)
    expect(shouldRetry(MAX_ATTEMPTS + 1)).toBe(false)
  })

  it('doubles from the base, within ±20 % jitter', () => {
    for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) {
      const nominal = DEFAULT_RETRY_BASE_MS * 2 ** (attempt - 1)
      expect(retryDelayMs(attempt, DEFAULT_RETRY_BASE_MS, () => 0)).toBe(Math.round(nominal * 0.8))
      expect(retryDelayMs(attempt, DEFAULT_RETRY_BASE_MS, () => 0.5)).toBe(nominal)
      expect(retryDelayMs(attempt, DEFAULT_RETRY_BASE_MS, () => 1)).toBe(Math.round(nominal * 1.2))
      for (let i = 0; i < 50; i++) {
        const delay = retryDelayMs(attempt)
        expect(delay).toBeGreaterThanOrEqual(Math.floor(nominal * 0.8))
        expect(delay).toBeLessThanOrEqual(Math.ceil(nominal * 1.2))
      }
    }
    expect(retryDelayMs(1, 50, () => 0.5)).toBe(50)
    expect(retryDelayMs(3, 50, () => 0.5)).toBe(200)
  })

  it('spreads the ten attempts over about a day', () => {
    const total = (random: () => number): number => {
      let sum = 0
      for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) sum += retryDelayMs(attempt, DEFAULT_RETRY_BASE_MS, random)
      return sum
    }
    expect(total(() => 0.5) / HOUR).toBeCloseTo(25.55, 1)
    expect(total(() => 0)).toBeGreaterThan(20 * HOUR)
    expect(total(() => 1)).toBeLessThan(31 * HOUR)
    // the first retry comes soon: a receiver that blinked gets the event within minutes
    expect(retryDelayMs(1, DEFAULT_RETRY_BASE_MS, () => 1)).toBeLessThanOrEqual(4 * 60_000)
  })
})
