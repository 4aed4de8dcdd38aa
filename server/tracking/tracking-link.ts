/**
 * When a buyer's tracking link works. It is the only key to the page, and it gets forwarded: so it
 * stops some days after the journey ends, and the sender can take it back (revoke) or replace it
 * with a new one (rotate) when it went where it should not have.
 */
export type LinkState = 'open' | 'expired' | 'revoked' | 'replaced'

/** Why a token that once opened a parcel no longer does, as other instances are told. */
export type LinkRetirement = 'revoked' | 'replaced'

const DAY_MS = 86_400_000

export interface LinkFacts {
  /** ms; when the journey ended (delivered, returned), null while the parcel is on its way. */
  endedAt: number | null
  revoked: boolean
}

/** When the link stops working by itself: never while the parcel is on its way. */
export function linkExpiresAt (endedAt: number | null, linkDays: number): number | null {
  return endedAt === null ? null : endedAt + linkDays * DAY_MS
}

/** A revoked link says so even once it would have expired: that is what its sender did. */
export function linkState (link: LinkFacts, now: number, linkDays: number): Exclude<LinkState, 'replaced'> {
  if (link.revoked) return 'revoked'
  const expiresAt = linkExpiresAt(link.endedAt, linkDays)
  return expiresAt !== null && expiresAt <= now ? 'expired' : 'open'
}
