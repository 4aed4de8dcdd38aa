import type { Engine } from '../../engine/engine.js'
import type { ScanItem, Stage } from '../items.js'

/** What the read means for its parcel or container (engine/scans.ts): a milestone, or a move onto or off a vehicle. */
export function scanMilestones (engine: Engine): Stage<ScanItem> {
  return {
    name: 'scan-milestones',
    run: (item) => {
      const { milestones, custody } = engine.scanEffects(item.scan, item, item.direction)
      item.milestones = milestones
      item.custody = custody
      return undefined
    }
  }
}
