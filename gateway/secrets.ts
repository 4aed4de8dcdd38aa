import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * Device secrets are generated here, never chosen by people, so they carry 192 bits of entropy.
 * A fast hash is then enough (as for API tokens): no one can brute-force the preimage, and
 * thousands of trackers can reconnect at once without a slow KDF pinning the CPU.
 */
export function generateSecret (): string {
  return randomBytes(24).toString('base64url')
}

export function hashSecret (secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex')
}

export function verifySecret (secret: string, expectedHash: string): boolean {
  const actual = Buffer.from(hashSecret(secret), 'hex')
  const expected = Buffer.from(expectedHash, 'hex')
  return actual.length === expected.length && timingSafeEqual(actual, expected)
}
