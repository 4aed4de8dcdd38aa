import type { DeviceStateStore } from '../../state/device-state.js'
import type { GeofenceStore } from '../../state/geofences.js'
import type { Registry } from '../../state/registry.js'
import { vehicleRef } from '../../tracking/custody.js'
import { nextOnFix, type FenceTransition } from '../../tracking/geofence.js'
import { record } from '../custody-moves.js'
import type { FixEffects, FixItem, Stage } from '../items.js'

/**
 * A vehicle's fix moves it across geofences (with hysteresis and a minimum dwell, in
 * tracking/geofence.ts); each crossing gives every parcel aboard the fence's milestone, and is
 * remembered so a restart neither repeats nor misses it. Late fixes never cross anything.
 */
export function geofenceMilestones (registry: Registry, store: GeofenceStore, deviceState: DeviceStateStore): Stage<FixItem> {
  return {
    name: 'geofences',
    run: (item) => {
      if (item.late || item.vehicleId === null || store.fences.size === 0) return undefined
      const previous = store.states.get(item.vehicleId)
      const { state, transitions } = nextOnFix(previous, item.fix, store.compiled, store.config)
      if (state !== previous && state !== undefined) store.states.set(item.vehicleId, state)
      if (transitions.length > 0) item.effects = effectsOf(registry, store, deviceState, item, transitions)
      return undefined
    }
  }
}

function effectsOf (registry: Registry, store: GeofenceStore, deviceState: DeviceStateStore, item: FixItem, transitions: readonly FenceTransition[]): FixEffects {
  const vehicleId = item.vehicleId as string
  const effects: FixEffects = { milestones: [], crossings: [], events: [] }
  const aboard = registry.custody.parcelsIn(vehicleRef(vehicleId))
  for (const { fenceId, kind, time } of transitions) {
    const fence = store.fences.get(fenceId)
    if (fence === undefined) continue
    effects.crossings.push({ vehicleId, fenceId, inside: kind === 'enter', time })
    effects.events.push({
      event: { deviceId: item.fix.deviceId, time, type: kind === 'enter' ? 'geofence_enter' : 'geofence_leave', detail: { fence: fenceId, name: fence.name, vehicle: vehicleId } },
      receivedAt: item.receivedAt
    })
    const code = kind === 'enter' ? fence.onEnter : fence.onExit
    if (code === null) continue
    const station = fence.stationId === null ? undefined : registry.stations.get(fence.stationId)
    const context = { time, source: 'geofence' as const, deviceId: item.fix.deviceId, stationId: fence.stationId, note: fence.name }
    for (const parcelId of aboard) {
      effects.milestones.push(...record(registry, deviceState, parcelId, code, vehicleId, context, null, station ?? { lat: item.fix.lat, lon: item.fix.lon }))
    }
  }
  return effects
}
