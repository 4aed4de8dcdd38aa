import { describe, expect, it } from 'vitest'
import { parseLinkNews } from '../../server/plugins/tracking-links.js'
import { linkExpiresAt, linkState } from '../../server/tracking/tracking-link.js'

const DAY = 86_400_000
const NOW = Date.parse('2026-06-01T12:00:00Z')

describe('when a tracking link works', () => {
  it('works while the parcel is on its way, however long that takes', () => {
    expect(linkState({ endedAt: null, revoked: false }, NOW, 1)).toBe('open')
    expect(linkExpiresAt(null, 90)).toBeNull()
  })

  it('works for TRACKING_LINK_DAYS after the journey ended, and not from that moment on', () => {
    const endedAt = NOW - 90 * DAY
    expect(linkExpiresAt(endedAt, 90)).toBe(NOW)
    expect(linkState({ endedAt: endedAt + 1, revoked: false }, NOW, 90)).toBe('open')
    expect(linkState({ endedAt, revoked: false }, NOW, 90)).toBe('expired')
    expect(linkState({ endedAt, revoked: false }, NOW, 91)).toBe('open')
  })

  it('says a revoked link was revoked, even once it would have expired', () => {
    expect(linkState({ endedAt: null, revoked: true }, NOW, 90)).toBe('revoked')
    expect(linkState({ endedAt: NOW - 400 * DAY, revoked: true }, NOW, 90)).toBe('revoked')
  })
})

describe('the news of a retired link between instances', () => {
  it('reads "<reason> <token>" and nothing else', () => {
    expect(parseLinkNews('replaced abcDEF-_0123456789abcd')).toEqual({ reason: 'replaced', token: 'abcDEF-_0123456789abcd' })
    expect(parseLinkNews('revoked abc')).toEqual({ reason: 'revoked', token: 'abc' })
    for (const bad of ['', 'revoked', 'revoked ', 'expired abc', 'revoked a b', 'REVOKED abc']) expect(parseLinkNews(bad), bad).toBeUndefined()
  })
})
