import { compileFences, type CompiledFences, type Geofence, type GeofenceConfig, type VehicleFenceState } from '../tracking/geofence.js'
import type { MilestoneCode } from '../tracking/milestones.js'

export type GeofenceKind = 'station' | 'customs' | 'delivery_area' | 'other'

export interface GeofenceRecord {
  id: string
  name: string
  kind: GeofenceKind
  /** The station the fence surrounds: its milestones are recorded there. */
  stationId: string | null
  shape: Geofence['shape']
  /** The milestone for every parcel aboard a vehicle entering (leaving) it; null for none. */
  onEnter: MilestoneCode | null
  onExit: MilestoneCode | null
  createdAt: Date
}

/** What a fence means when nobody says otherwise. */
export const DEFAULT_MILESTONES: Record<GeofenceKind, { onEnter: MilestoneCode | null, onExit: MilestoneCode | null }> = {
  station: { onEnter: 'arrived_at_facility', onExit: 'departed_facility' },
  customs: { onEnter: 'customs_entered', onExit: 'customs_cleared' },
  delivery_area: { onEnter: null, onExit: null },
  other: { onEnter: null, onExit: null }
}

/** The fences, compiled for the hot path, and each vehicle's place relative to them. */
export class GeofenceStore {
  readonly fences = new Map<string, GeofenceRecord>()
  readonly states = new Map<string, VehicleFenceState>()
  compiled: CompiledFences

  constructor (readonly config: GeofenceConfig) {
    this.compiled = compileFences([], config)
  }

  put (fence: GeofenceRecord): void {
    this.fences.set(fence.id, fence)
    this.recompile()
  }

  remove (id: string): void {
    this.fences.delete(id)
    this.recompile()
  }

  /**
   * A vehicle inside a fence when the server stopped is still inside it, without entering again;
   * one known to have left is outside, so its first fix after the restart can enter.
   */
  restore (vehicleId: string, fenceId: string, inside: boolean, since: number): void {
    const state = this.states.get(vehicleId) ?? { lastTime: -Infinity, fences: [] }
    this.states.set(vehicleId, {
      lastTime: Math.max(state.lastTime, since),
      fences: inside ? [...state.fences, { fenceId, inside: true, pending: null }] : state.fences
    })
  }

  private recompile (): void {
    this.compiled = compileFences([...this.fences.values()].map(({ id, shape }) => ({ id, shape })), this.config)
  }
}
