import type { DeviceStateStore } from '../../state/device-state.js'
import type { FixItem, Stage } from '../items.js'

/** Fixes older than the device's latest are kept as history but never move the live position. */
export function markLateFixes (store: DeviceStateStore): Stage<FixItem> {
  return {
    name: 'mark-late',
    run: (item) => {
      const state = store.get(item.fix.deviceId)
      if (item.fix.time <= state.latestFixTime) item.late = true
      else {
        state.latestFixTime = item.fix.time
        state.latestLat = item.fix.lat
        state.latestLon = item.fix.lon
      }
      return undefined
    }
  }
}
