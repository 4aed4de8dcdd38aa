/**
 * The buyer's view of a parcel, serialized, kept until a milestone of that parcel commits. Buyers
 * reload the tracking page far more often than parcels move. Bounded: the least recently used go.
 */
export class PublicViewCache {
  private readonly views = new Map<string, string>()
  /** views being read from the database: a milestone committing meanwhile makes them stale */
  private readonly loading = new Map<string, Set<{ stale: boolean }>>()

  constructor (private readonly capacity = 20_000) {}

  /** The cached view, or the one `load` reads, cached unless a milestone committed while it read. */
  async get (parcelId: string, load: () => Promise<string>): Promise<string> {
    const cached = this.views.get(parcelId)
    if (cached !== undefined) {
      // refresh recency: Map keeps insertion order
      this.views.delete(parcelId)
      this.views.set(parcelId, cached)
      return cached
    }
    const token = { stale: false }
    const inFlight = this.loading.get(parcelId) ?? new Set()
    inFlight.add(token)
    this.loading.set(parcelId, inFlight)
    try {
      const view = await load()
      if (!token.stale) this.remember(parcelId, view)
      return view
    } finally {
      inFlight.delete(token)
      if (inFlight.size === 0) this.loading.delete(parcelId)
    }
  }

  forget (parcelId: string): void {
    this.views.delete(parcelId)
    for (const token of this.loading.get(parcelId) ?? []) token.stale = true
  }

  private remember (parcelId: string, view: string): void {
    this.views.set(parcelId, view)
    if (this.views.size > this.capacity) {
      const oldest = this.views.keys().next().value
      if (oldest !== undefined) this.views.delete(oldest)
    }
  }
}
