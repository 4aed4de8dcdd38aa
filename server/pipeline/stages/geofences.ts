import type { Engine } from '../../engine/engine.js'
import type { FixItem, Stage } from '../items.js'

/** A vehicle's fix may cross geofences (engine/fixes.ts); late fixes never cross anything. */
export function geofenceMilestones (engine: Engine): Stage<FixItem> {
  return {
    name: 'geofences',
    run: (item) => {
      if (item.late || item.vehicleId === null) return undefined
      item.effects = engine.crossFences(item.fix, item.vehicleId, item.receivedAt)
      return undefined
    }
  }
}
