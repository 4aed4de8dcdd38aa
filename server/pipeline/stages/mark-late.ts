import type { Engine } from '../../engine/engine.js'
import type { FixItem, Stage } from '../items.js'

/** Fixes older than the device's latest are kept as history but never move the live position. */
export function markLateFixes (engine: Engine): Stage<FixItem> {
  return {
    name: 'mark-late',
    run: (item) => {
      item.late = engine.isLate(item.fix)
      return undefined
    }
  }
}
