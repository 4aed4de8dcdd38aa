import { describe, expect, it } from 'vitest'
import { scanMilestones } from '../../../../server/pipeline/stages/scan-milestones.js'
import { newParcel, testEngine } from '../../../support/engine.js'
import { scanItem, T0 } from './helpers.js'

describe('stage: scan milestones', () => {
  it('attaches the milestone a read of a known tag at a station means, once', () => {
    const engine = testEngine()
    engine.putStation({ id: 'BKK', name: 'Bangkok hub', kind: 'hub', lat: 13.7, lon: 100.6, city: null, country: null, timezone: null, createdAt: new Date(T0) })
    engine.putReader({ deviceId: 'dock-1', stationId: 'BKK', milestone: 'arrived_at_facility', name: null, antennas: [], vehicleId: null, mounted: false, createdAt: new Date(T0) })
    engine.admit(newParcel('p1', T0))
    const stage = scanMilestones(engine)
    const first = { ...scanItem({ time: T0 + 1000 }), stationId: 'BKK', parcelId: 'p1' }
    const again = { ...scanItem({ time: T0 + 1500 }), stationId: 'BKK', parcelId: 'p1' }
    const stranger = { ...scanItem({ time: T0 + 1000, epc: 'ABCD' }), stationId: 'BKK' }
    for (const item of [first, again, stranger]) expect(stage.run(item)).toBeUndefined()
    expect(first.milestones).toEqual([expect.objectContaining({ parcelId: 'p1', code: 'arrived_at_facility', stationId: 'BKK', source: 'rfid' })])
    expect(again.milestones).toEqual([])
    expect(stranger.milestones).toEqual([])
  })
})
