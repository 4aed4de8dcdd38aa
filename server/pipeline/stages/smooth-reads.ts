import type { Engine } from '../../engine/engine.js'
import type { ScanItem, Stage } from '../items.js'

/**
 * Folds each read into its tag's visit at the reader, so that a tag read fifty times is one visit,
 * and marks the read that settles which way a tag passed a dock door's inner and outer antennas.
 */
export function smoothReads (engine: Engine): Stage<ScanItem> {
  return {
    name: 'smooth-reads',
    run: (item) => {
      item.direction = engine.smooth(item.scan, item)
      return undefined
    }
  }
}
