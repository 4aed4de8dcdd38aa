import type { GeofenceKind, GeofenceRecord } from '../model.js'
import { compileFences, type CompiledFences, type GeofenceConfig, type VehicleFenceState } from '../tracking/geofence.js'
import type { MilestoneCode } from '../tracking/milestones.js'

/** What a fence means when nobody says otherwise. */
export const DEFAULT_MILESTONES: Record<GeofenceKind, { onEnter: MilestoneCode | null, onExit: MilestoneCode | null }> = {
  station: { onEnter: 'arrived_at_facility', onExit: 'departed_facility' },
  customs: { onEnter: 'customs_entered', onExit: 'customs_cleared' },
  delivery_area: { onEnter: null, onExit: null },
  other: { onEnter: null, onExit: null }
}

/** The fences, compiled for the hot path, and each vehicle's place relative to them. */
export class GeofenceStore {
  private readonly byId = new Map<string, GeofenceRecord>()
  private readonly states = new Map<string, VehicleFenceState>()
  compiled: CompiledFences

  constructor (readonly config: GeofenceConfig) {
    this.compiled = compileFences([], config)
  }

  get size (): number {
    return this.byId.size
  }

  fence (id: string): GeofenceRecord | undefined {
    return this.byId.get(id)
  }

  fences (): IterableIterator<GeofenceRecord> {
    return this.byId.values()
  }

  put (fence: GeofenceRecord): void {
    this.byId.set(fence.id, fence)
    this.recompile()
  }

  remove (id: string): void {
    this.byId.delete(id)
    this.recompile()
  }

  /** Where a vehicle is relative to the fences, as its last fix left it. */
  stateOf (vehicleId: string): VehicleFenceState | undefined {
    return this.states.get(vehicleId)
  }

  setState (vehicleId: string, state: VehicleFenceState): void {
    this.states.set(vehicleId, state)
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
    this.compiled = compileFences([...this.byId.values()].map(({ id, shape }) => ({ id, shape })), this.config)
  }
}
