import { describe, expect, it } from 'vitest'
import { newApiKey, newSessionToken, parseApiKey, sameBytes, sha256 } from '../../../server/auth/tokens.js'

describe('API keys and session tokens', () => {
  it('makes keys that parse back to their id and the hash that is stored', () => {
    const fresh = newApiKey()
    expect(fresh.key).toMatch(/^ts_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/)
    const parsed = parseApiKey(fresh.key)
    expect(parsed?.id).toBe(fresh.id)
    expect(sameBytes(parsed?.secretHash ?? Buffer.alloc(0), fresh.secretHash)).toBe(true)
    expect(fresh.secretHash.includes(Buffer.from(fresh.key.slice(16)))).toBe(false)
  })

  it('does not parse what is not shaped like a key', () => {
    for (const text of ['', 'ts_', 'ts_abc_def', `ts_${'a'.repeat(12)}_${'b'.repeat(42)}`, `xx_${'a'.repeat(12)}_${'b'.repeat(43)}`, 'test-api-key-0123456789']) {
      expect(parseApiKey(text), text).toBeNull()
    }
  })

  it('makes a different session token every time and keeps only its hash', () => {
    const a = newSessionToken()
    const b = newSessionToken()
    expect(a.token).not.toBe(b.token)
    expect(sameBytes(a.hash, sha256(a.token))).toBe(true)
    expect(sameBytes(a.hash, b.hash)).toBe(false)
  })
})
