import { createHmac, randomBytes } from 'node:crypto'

/** The scheme named in X-Trackstream-Signature: `sha256=<hex>`. */
export const SIGNATURE_PREFIX = 'sha256='

/**
 * The signature a receiver checks: HMAC-SHA256, keyed with the subscription's secret, of
 * "<timestamp>.<body>", hex. The timestamp (Unix seconds, also sent as X-Trackstream-Timestamp) is
 * inside what is signed, so a captured delivery cannot be replayed later with a fresh timestamp.
 */
export function sign (secret: string, timestamp: number, body: string): string {
  return SIGNATURE_PREFIX + createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')
}

/** A new subscription's secret: 32 random bytes, base64url. */
export function newSecret (): string {
  return randomBytes(32).toString('base64url')
}
