import { describe, expect, it } from 'vitest'
import { smoothReads } from '../../../../server/pipeline/stages/smooth-reads.js'
import { testEngine } from '../../../support/engine.js'
import { scanItem, T0 } from './helpers.js'

describe('stage: smooth reads', () => {
  it('folds reads into visits, and marks the read that settles which way a tag passed a two-sided door', () => {
    const engine = testEngine({ rfidWindowMs: 1000 })
    engine.putReader({
      deviceId: 'door-1', stationId: null, milestone: 'loaded', name: null, vehicleId: null, mounted: false, createdAt: new Date(T0),
      antennas: [{ port: 1, milestone: 'loaded', stationId: null, side: 'inner' }, { port: 2, milestone: 'loaded', stationId: null, side: 'outer' }]
    })
    const stage = smoothReads(engine)
    const directions = [[1, 100], [1, 200], [1, 300], [2, 400], [2, 500], [2, 600]].map(([antenna, ms]) => {
      const item = scanItem({ readerId: 'door-1', antenna, time: T0 + (ms as number) })
      expect(stage.run(item)).toBeUndefined()
      return item.direction
    })
    expect(directions).toEqual([null, null, null, null, null, 'loading'])
    // the visit ends a window after its last read, as one row however many reads it took
    expect(engine.endVisits(T0 + 5000)).toEqual([expect.objectContaining({ readerId: 'door-1', count: 6, direction: 'loading' })])
  })
})
