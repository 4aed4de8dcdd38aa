/**
 * What rides in what: parcels in containers, containers in containers, both on vehicles. A parcel
 * takes the position of the vehicle at the end of its chain. Changes carry a time, and a change
 * older than the item's last one is refused, so a late scan never undoes a newer move.
 */
export type ItemRef = `parcel:${string}` | `container:${string}`
export type CarrierRef = `container:${string}` | `vehicle:${string}`

export const parcelRef = (id: string): ItemRef => `parcel:${id}`
export const containerRef = (id: string): ItemRef & CarrierRef => `container:${id}`
export const vehicleRef = (id: string): CarrierRef => `vehicle:${id}`

export function idOf (ref: ItemRef | CarrierRef): string {
  return ref.slice(ref.indexOf(':') + 1)
}

export interface CustodyEntry {
  carrier: CarrierRef | null
  since: number
}

/** A parcel whose vehicle changed: loaded onto `to`, unloaded from `from`, or both. */
export interface VehicleChange {
  parcelId: string
  from: string | null
  to: string | null
}

export type MoveOutcome =
  | { ok: true, changes: VehicleChange[] }
  | { ok: false, why: 'older_than_last_move' | 'would_contain_itself' }

/** Deep enough for a parcel in a bag in a tote on a pallet in a ULD on a truck, with room to spare. */
const MAX_DEPTH = 16

export class Custody {
  private readonly entries = new Map<ItemRef, CustodyEntry>()
  private readonly contents = new Map<CarrierRef, Set<ItemRef>>()

  /** Restores state from the database, without computing changes. */
  restore (item: ItemRef, entry: CustodyEntry): void {
    this.detach(item)
    this.entries.set(item, entry)
    if (entry.carrier !== null) this.contentsOf(entry.carrier).add(item)
  }

  entryOf (item: ItemRef): CustodyEntry | undefined {
    return this.entries.get(item)
  }

  /** The chain of carriers above an item, nearest first. */
  carriersOf (item: ItemRef): CarrierRef[] {
    const chain: CarrierRef[] = []
    let carrier = this.entries.get(item)?.carrier ?? null
    while (carrier !== null && chain.length < MAX_DEPTH) {
      chain.push(carrier)
      carrier = carrier.startsWith('vehicle:') ? null : this.entries.get(carrier as ItemRef)?.carrier ?? null
    }
    return chain
  }

  /** The containers an item is packed in, nearest first. */
  containersOf (item: ItemRef): string[] {
    return this.carriersOf(item).filter((carrier) => carrier.startsWith('container:')).map(idOf)
  }

  vehicleOf (item: ItemRef): string | null {
    const top = this.carriersOf(item).at(-1)
    return top?.startsWith('vehicle:') === true ? idOf(top) : null
  }

  /** Every parcel inside a carrier, however deeply nested. */
  parcelsIn (carrier: CarrierRef): string[] {
    const found: string[] = []
    const visit = (ref: CarrierRef, depth: number): void => {
      for (const item of this.contents.get(ref) ?? []) {
        if (item.startsWith('parcel:')) found.push(idOf(item))
        else if (depth < MAX_DEPTH) visit(item as CarrierRef, depth + 1)
      }
    }
    visit(carrier, 0)
    return found
  }

  /** Every item riding in something: for checking this copy against the database's. */
  itemsAboard (): ItemRef[] {
    return [...this.contents.values()].flatMap((items) => [...items])
  }

  /** Whether anything rides in a carrier: cheap enough for every fix. */
  carries (carrier: CarrierRef): boolean {
    return this.contents.has(carrier)
  }

  /** Directly inside a carrier. */
  itemsIn (carrier: CarrierRef): ItemRef[] {
    return [...(this.contents.get(carrier) ?? [])]
  }

  /**
   * Puts an item into a carrier (null: takes it off everything) at a time, and reports every parcel
   * whose vehicle changed, the item's own contents included.
   */
  move (item: ItemRef, carrier: CarrierRef | null, time: number): MoveOutcome {
    if (carrier !== null && (carrier as string) === item) return { ok: false, why: 'would_contain_itself' }
    if (carrier !== null && carrier.startsWith('container:') && this.carriersOf(carrier as ItemRef).includes(item as CarrierRef)) {
      return { ok: false, why: 'would_contain_itself' }
    }
    const current = this.entries.get(item)
    if (current !== undefined && time < current.since) return { ok: false, why: 'older_than_last_move' }
    const parcels = item.startsWith('parcel:') ? [idOf(item)] : this.parcelsIn(item as CarrierRef)
    const before = parcels.map((id) => this.vehicleOf(parcelRef(id)))
    this.detach(item)
    this.entries.set(item, { carrier, since: time })
    if (carrier !== null) this.contentsOf(carrier).add(item)
    const changes: VehicleChange[] = []
    parcels.forEach((parcelId, i) => {
      const from = before[i] ?? null
      const to = this.vehicleOf(parcelRef(parcelId))
      if (from !== to) changes.push({ parcelId, from, to })
    })
    return { ok: true, changes }
  }

  /** Forgets an item that rides in nothing (a parcel whose journey ended), so history never piles up here. */
  release (item: ItemRef): void {
    if (this.entries.get(item)?.carrier === null) this.entries.delete(item)
  }

  private detach (item: ItemRef): void {
    const carrier = this.entries.get(item)?.carrier
    if (carrier == null) return
    const set = this.contents.get(carrier)
    set?.delete(item)
    if (set?.size === 0) this.contents.delete(carrier)
  }

  private contentsOf (carrier: CarrierRef): Set<ItemRef> {
    let set = this.contents.get(carrier)
    if (set === undefined) {
      set = new Set()
      this.contents.set(carrier, set)
    }
    return set
  }
}
