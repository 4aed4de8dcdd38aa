import type { Store } from '../engine/store.js'
import type { ActiveParcel, LivePosition } from '../model.js'
import { parcelRef, vehicleRef } from '../tracking/custody.js'
import { cellOf, outForDelivery, sameVan, vanView, type GridCell, type PublicVan } from '../tracking/van-view.js'
import type { LiveBus } from './bus.js'

/** What the feed needs of a parcel: which it is, and the buyer's point. Its track is read from the engine. */
export type VanParcel = Pick<ActiveParcel, 'id' | 'destination'>

interface VanWatch {
  readonly parcel: VanParcel
  readonly send: (van: PublicVan | null) => void
  /** The vehicle bringing the parcel, while it is out for delivery on one. */
  vehicleId: string | null
  /** What this buyer was last told. */
  last: PublicVan | null
}

export interface VanSubscription {
  /** The van now, for the snapshot; what follows is only what changes from it. */
  van: PublicVan | null
  stop: () => void
}

/**
 * The van on each buyer's page. Watchers are indexed by the vehicle bringing their parcel, so a
 * fix costs a map lookup plus the buyers of that one van; the vehicle rather than its tracker,
 * since a fix names both and a tracker swapped onto the van keeps its buyers. A buyer hears only
 * what would change on their map: a new cell far away, a new fix nearby, or the van gone.
 */
export class VanFeed {
  private readonly byVehicle = new Map<string, Set<VanWatch>>()
  private readonly byParcel = new Map<string, Set<VanWatch>>()
  /**
   * The cell each loaded vehicle is shown in, shared by every buyer and by GET, so the hysteresis
   * that keeps a parked van from flipping between cells cannot be undone by asking again.
   */
  private readonly cells = new Map<string, { cell: GridCell, time: number }>()
  private readonly unsubscribe: () => void

  constructor (bus: LiveBus, private readonly store: Store) {
    this.unsubscribe = bus.subscribe((event) => {
      if (event.kind === 'positions') {
        this.onPositions(event.positions)
      } else if (event.kind === 'milestones') {
        // a milestone may start or end the delivery, or move the parcel to another van
        const watched = new Set<string>()
        for (const { parcelId } of event.milestones) if (this.byParcel.has(parcelId)) watched.add(parcelId)
        for (const parcelId of watched) for (const watch of [...this.byParcel.get(parcelId) ?? []]) this.refresh(watch)
      }
    })
  }

  /** The van as this parcel's buyer sees it now: null unless it is out for delivery on a van with a fix. */
  current (parcel: VanParcel): PublicVan | null {
    const vehicleId = this.vehicleFor(parcel)
    if (vehicleId === null) return null
    const position = this.store.vehiclePosition(vehicleId)
    if (position === undefined) return null
    return vanView(position, parcel.destination, cellOf(position, this.cells.get(vehicleId)?.cell))
  }

  /** Calls `send` with each change of the parcel's van from what `van` says now. */
  watch (parcel: VanParcel, send: (van: PublicVan | null) => void): VanSubscription {
    const watch: VanWatch = { parcel, send, vehicleId: this.vehicleFor(parcel), last: this.current(parcel) }
    this.index(this.byParcel, parcel.id, watch)
    if (watch.vehicleId !== null) this.index(this.byVehicle, watch.vehicleId, watch)
    return {
      van: watch.last,
      stop: () => {
        this.unindex(this.byParcel, parcel.id, watch)
        if (watch.vehicleId !== null) this.unindex(this.byVehicle, watch.vehicleId, watch)
      }
    }
  }

  close (): void {
    this.unsubscribe()
    this.byVehicle.clear()
    this.byParcel.clear()
    this.cells.clear()
  }

  private onPositions (positions: LivePosition[]): void {
    // several fixes of one van in one message make one change at most: its newest
    const newest = new Map<string, LivePosition>()
    for (const position of positions) {
      if (position.vehicleId === null) continue
      const seen = newest.get(position.vehicleId)
      if (seen === undefined || position.time > seen.time) newest.set(position.vehicleId, position)
    }
    for (const [vehicleId, position] of newest) {
      const watches = this.byVehicle.get(vehicleId)
      // only a van carrying parcels can be on a buyer's map
      if (watches === undefined && !this.store.custody.carries(vehicleRef(vehicleId))) {
        this.cells.delete(vehicleId)
        continue
      }
      const known = this.cells.get(vehicleId)
      // a bus can deliver out of order across instances: never move a van backwards in time
      if (known !== undefined && known.time >= position.time) continue
      const cell = cellOf(position, known?.cell)
      this.cells.set(vehicleId, { cell, time: position.time })
      if (watches === undefined) continue
      for (const watch of [...watches]) {
        if (this.vehicleFor(watch.parcel) !== vehicleId) this.refresh(watch)
        else this.offer(watch, vanView(position, watch.parcel.destination, cell))
      }
    }
  }

  /** Looks again at which van brings the parcel, and tells the buyer if their map changes. */
  private refresh (watch: VanWatch): void {
    const vehicleId = this.vehicleFor(watch.parcel)
    if (vehicleId !== watch.vehicleId) {
      if (watch.vehicleId !== null) this.unindex(this.byVehicle, watch.vehicleId, watch)
      watch.vehicleId = vehicleId
      if (vehicleId !== null) this.index(this.byVehicle, vehicleId, watch)
    }
    this.offer(watch, this.current(watch.parcel))
  }

  private offer (watch: VanWatch, van: PublicVan | null): void {
    if (sameVan(watch.last, van)) return
    watch.last = van
    watch.send(van)
  }

  /** The vehicle bringing the parcel: only one on its way, out for delivery, rides a van to a buyer. */
  private vehicleFor (parcel: VanParcel): string | null {
    const track = this.store.parcels.get(parcel.id)?.track
    return track !== undefined && outForDelivery(track) ? this.store.custody.vehicleOf(parcelRef(parcel.id)) : null
  }

  private index (map: Map<string, Set<VanWatch>>, key: string, watch: VanWatch): void {
    let watches = map.get(key)
    if (watches === undefined) {
      watches = new Set()
      map.set(key, watches)
    }
    watches.add(watch)
  }

  private unindex (map: Map<string, Set<VanWatch>>, key: string, watch: VanWatch): void {
    const watches = map.get(key)
    watches?.delete(watch)
    if (watches?.size === 0) map.delete(key)
  }
}
