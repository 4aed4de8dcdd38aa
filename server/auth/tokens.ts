import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/** Keys are shown once as ts_<id>_<secret>; the id finds the row, the secret proves it. */
const KEY_PATTERN = /^ts_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/

export interface NewApiKey {
  id: string
  /** The whole key, to show once. */
  key: string
  secretHash: Buffer
}

export function newApiKey (): NewApiKey {
  const id = randomBytes(9).toString('base64url').toLowerCase().replace(/[^a-z0-9]/g, '0').slice(0, 12)
  const secret = randomBytes(32).toString('base64url')
  return { id, key: `ts_${id}_${secret}`, secretHash: sha256(secret) }
}

/** The id and the secret's hash of something shaped like a key, or null. */
export function parseApiKey (key: string): { id: string, secretHash: Buffer } | null {
  const match = KEY_PATTERN.exec(key)
  if (match === null) return null
  return { id: match[1] as string, secretHash: sha256(match[2] as string) }
}

/** A session cookie's value: random; the database keeps only its hash. */
export function newSessionToken (): { token: string, hash: Buffer } {
  const token = randomBytes(32).toString('base64url')
  return { token, hash: sha256(token) }
}

export function sha256 (text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

export function sameBytes (a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}
