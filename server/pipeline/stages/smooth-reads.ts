import type { Registry } from '../../state/registry.js'
import type { TagVisits } from '../../state/tag-visits.js'
import type { ScanItem, Stage } from '../items.js'

/**
 * Folds each read into its tag's visit at the reader, so that a tag read fifty times is one visit,
 * and marks the read that settles which way a tag passed a dock door's inner and outer antennas.
 */
export function smoothReads (registry: Registry, visits: TagVisits): Stage<ScanItem> {
  return {
    name: 'smooth-reads',
    run: (item) => {
      const { scan } = item
      const config = visits.configOf(registry.readers.get(scan.readerId))
      const step = visits.read({ readerId: scan.readerId, epc: scan.epc, parcelId: item.parcelId, stationId: item.stationId }, { time: scan.time, antenna: scan.antenna, rssi: scan.rssi }, config)
      for (const observation of step.observations) if (observation.kind === 'direction') item.direction = observation.direction
      return undefined
    }
  }
}
