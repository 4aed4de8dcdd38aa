import type { DeviceEvent } from '../../gateway/decoders/format.js'
import type { Fix } from '../../proto/types.js'
import type { CustodyRow, FenceCrossing, MilestoneRow, StoredEvent } from '../model.js'
import { nextOnFix, type FenceTransition } from '../tracking/geofence.js'
import { recordMilestone, type TrackObserver } from './milestones.js'
import type { Store } from './store.js'

/** What a fix's geofence crossings cause; null on nearly every fix, so none allocates. */
export interface FixEffects {
  milestones: MilestoneRow[]
  /** A fence whose milestone ends the journey (delivered in the buyer's area) takes the parcel off the vehicle. */
  custody: CustodyRow[]
  crossings: FenceCrossing[]
  events: StoredEvent[]
}

/** True if this fix was seen recently: a redelivery. Remembers it otherwise. */
export function seenFix (store: Store, fix: Fix): boolean {
  return store.devices.get(fix.deviceId).seenFix(fix.time, fix.seq)
}

/** True if the fix is older than the device's newest: history, never the live position. Else it becomes the newest. */
export function isLate (store: Store, fix: Fix): boolean {
  const state = store.devices.get(fix.deviceId)
  if (fix.time <= state.latestFixTime) return true
  state.latestFixTime = fix.time
  state.latestLat = fix.lat
  state.latestLon = fix.lon
  return false
}

/**
 * A vehicle's fix moves it across geofences (with hysteresis and a minimum dwell, in
 * tracking/geofence.ts); each crossing gives every parcel aboard the fence's milestone, and is
 * remembered so a restart neither repeats nor misses it.
 */
export function crossFences (store: Store, observer: TrackObserver, fix: Fix, vehicleId: string, receivedAt: number): FixEffects | null {
  if (store.fences.size === 0) return null
  const previous = store.fences.stateOf(vehicleId)
  const { state, transitions } = nextOnFix(previous, fix, store.fences.compiled, store.fences.config)
  if (state !== previous && state !== undefined) store.fences.setState(vehicleId, state)
  return transitions.length === 0 ? null : effectsOf(store, observer, fix, vehicleId, receivedAt, transitions)
}

function effectsOf (store: Store, observer: TrackObserver, fix: Fix, vehicleId: string, receivedAt: number, transitions: readonly FenceTransition[]): FixEffects {
  const effects: FixEffects = { milestones: [], custody: [], crossings: [], events: [] }
  const aboard = store.parcelsAboard(vehicleId)
  for (const { fenceId, kind, time } of transitions) {
    const fence = store.fences.fence(fenceId)
    if (fence === undefined) continue
    effects.crossings.push({ vehicleId, fenceId, inside: kind === 'enter', time })
    const event: DeviceEvent = { deviceId: fix.deviceId, time, type: kind === 'enter' ? 'geofence_enter' : 'geofence_leave', detail: { fence: fenceId, name: fence.name, vehicle: vehicleId } }
    effects.events.push({ event, receivedAt })
    const code = kind === 'enter' ? fence.onEnter : fence.onExit
    if (code === null) continue
    const station = fence.stationId === null ? undefined : store.config.station(fence.stationId)
    const context = { time, source: 'geofence' as const, deviceId: fix.deviceId, stationId: fence.stationId, note: fence.name }
    for (const parcel of aboard) {
      const { milestones, custody } = recordMilestone(store, observer, parcel, code, vehicleId, context, null, station ?? { lat: fix.lat, lon: fix.lon })
      effects.milestones.push(...milestones)
      effects.custody.push(...custody)
    }
  }
  return effects
}
