import { describe, expect, it } from 'vitest'
import { geofenceMilestones } from '../../../../server/pipeline/stages/geofences.js'
import { parcelRef, vehicleRef } from '../../../../server/tracking/custody.js'
import { newParcel, testEngine } from '../../../support/engine.js'
import { fixItem, T0 } from './helpers.js'

const HUB = { lat: 13.70, lon: 100.60 }

describe('stage: geofences', () => {
  const setup = () => {
    const engine = testEngine()
    engine.putFence({ id: 'F1', name: 'Hub', kind: 'station', stationId: null, shape: { type: 'circle', ...HUB, radiusM: 500 }, onEnter: 'arrived_at_facility', onExit: null, createdAt: new Date(T0) })
    engine.admit(newParcel('p1', T0))
    engine.move(parcelRef('p1'), vehicleRef('V1'), { time: T0, source: 'api', deviceId: null, stationId: null })
    return { engine, stage: geofenceMilestones(engine) }
  }
  const onV1 = (time: number, at: { lat: number, lon: number }) => ({ ...fixItem({ time, ...at }), vehicleId: 'V1' })

  it('attaches what a vehicle\'s crossing causes: the crossing, its event, the milestone of each parcel aboard', () => {
    const { stage } = setup()
    for (const [time, at] of [[T0 + 1000, { lat: 13.8, lon: 100.6 }], [T0 + 2000, HUB]] as const) {
      const item = onV1(time, at)
      expect(stage.run(item)).toBeUndefined()
      expect(item.effects).toBeNull()
    }
    const confirming = onV1(T0 + 3000, HUB)
    stage.run(confirming)
    expect(confirming.effects?.crossings).toHaveLength(1)
    expect(confirming.effects?.events).toHaveLength(1)
    expect(confirming.effects?.milestones.map((m) => [m.parcelId, m.code])).toEqual([['p1', 'arrived_at_facility']])
  })

  it('crosses nothing on a late fix, or a fix of a device on no vehicle', () => {
    const { stage } = setup()
    const late = { ...onV1(T0 + 1000, HUB), late: true }
    const unfitted = fixItem({ time: T0 + 1000, ...HUB })
    stage.run(late)
    stage.run(unfitted)
    expect([late.effects, unfitted.effects]).toEqual([null, null])
  })
})
