import type { ActiveParcel } from '../model.js'

/** Parcels that ended a moment ago, still found by id and tracking number for a late word (cash collected after the delivery). */
const RECENTLY_ENDED = 10_000

/**
 * The parcels on their way, indexed the ways the hot path looks them up: by id, tracking number,
 * tag EPC and GS1 key. A parcel whose journey ends leaves the working set for a short list of the
 * recently ended; after that it is the database's alone. Memory follows the parcels in transit,
 * not the history.
 */
export class ActiveParcels {
  private readonly byId = new Map<string, ActiveParcel>()
  private readonly byNumber = new Map<string, ActiveParcel>()
  private readonly byEpc = new Map<string, ActiveParcel>()
  private readonly byGs1 = new Map<string, ActiveParcel>()
  /** Insertion order is age: the oldest is dropped first. */
  private readonly ended = new Map<string, ActiveParcel>()
  private readonly endedByNumber = new Map<string, ActiveParcel>()

  get size (): number {
    return this.byId.size
  }

  /** How many of the recently ended are kept for a late word. */
  get endedSize (): number {
    return this.ended.size
  }

  admit (parcel: ActiveParcel): void {
    this.forgetEnded(parcel)
    this.byId.set(parcel.id, parcel)
    this.byNumber.set(parcel.trackingNumber, parcel)
    if (parcel.epc !== null) this.byEpc.set(parcel.epc, parcel)
    if (parcel.gs1Key !== null) this.byGs1.set(parcel.gs1Key, parcel)
  }

  /** A parcel on its way, or one that has just ended. */
  get (id: string): ActiveParcel | undefined {
    return this.byId.get(id) ?? this.ended.get(id)
  }

  isActive (id: string): boolean {
    return this.byId.has(id)
  }

  /** By id or by tracking number: ops and drivers give either. */
  find (idOrTrackingNumber: string): ActiveParcel | undefined {
    return this.get(idOrTrackingNumber) ?? this.byNumber.get(idOrTrackingNumber) ?? this.endedByNumber.get(idOrTrackingNumber)
  }

  /** A parcel on its way by its tag's exact EPC, or else by the GS1 key the EPC encodes. */
  byTag (epc: string, gs1Key: string | null): ActiveParcel | undefined {
    return this.byEpc.get(epc) ?? (gs1Key === null ? undefined : this.byGs1.get(gs1Key))
  }

  /** Its journey ended: out of the working set, into the recently ended. */
  end (id: string): void {
    const parcel = this.byId.get(id)
    if (parcel === undefined) return
    this.byId.delete(id)
    if (this.byNumber.get(parcel.trackingNumber) === parcel) this.byNumber.delete(parcel.trackingNumber)
    if (parcel.epc !== null && this.byEpc.get(parcel.epc) === parcel) this.byEpc.delete(parcel.epc)
    if (parcel.gs1Key !== null && this.byGs1.get(parcel.gs1Key) === parcel) this.byGs1.delete(parcel.gs1Key)
    this.ended.set(id, parcel)
    this.endedByNumber.set(parcel.trackingNumber, parcel)
    if (this.ended.size > RECENTLY_ENDED) {
      const oldest = this.ended.values().next().value as ActiveParcel
      this.forgetEnded(oldest)
    }
  }

  /** One of the recently ended, kept for a moment (read back from the database for a late word). */
  remember (parcel: ActiveParcel): void {
    if (this.byId.has(parcel.id)) return
    this.forgetEnded(parcel)
    this.ended.set(parcel.id, parcel)
    this.endedByNumber.set(parcel.trackingNumber, parcel)
    if (this.ended.size > RECENTLY_ENDED) this.forgetEnded(this.ended.values().next().value as ActiveParcel)
  }

  private forgetEnded (parcel: ActiveParcel): void {
    if (this.ended.get(parcel.id) === undefined) return
    this.ended.delete(parcel.id)
    if (this.endedByNumber.get(parcel.trackingNumber)?.id === parcel.id) this.endedByNumber.delete(parcel.trackingNumber)
  }
}
