import { describe, expect, it } from 'vitest'
import type { DriverEvent } from '../../../../proto/types.js'
import { DUPLICATE, type DriverItem } from '../../../../server/pipeline/items.js'
import { dedupeDriverEvents, driverMilestones } from '../../../../server/pipeline/stages/driver-events.js'
import { newParcel, testEngine } from '../../../support/engine.js'
import { T0 } from './helpers.js'

const item = (event: Partial<DriverEvent>): DriverItem =>
  ({ event: { deviceId: 'driver-1', type: 'delivered', parcel: 'TS-p1', time: T0 + 1000, ...event } as DriverEvent, receivedAt: T0, milestones: [], custody: [] })

describe('stages: driver events', () => {
  it('counts the same event once', () => {
    const stage = dedupeDriverEvents(testEngine())
    expect(stage.run(item({}))).toBeUndefined()
    expect(stage.run(item({}))).toBe(DUPLICATE)
    expect(stage.run(item({ type: 'cod_collected', cod: { amount: '1', currency: 'THB' } }))).toBeUndefined()
  })

  it('attaches the milestone and the custody change, or refuses the event with why', () => {
    const engine = testEngine()
    engine.admit(newParcel('p1', T0))
    const stage = driverMilestones(engine)
    const delivered = item({})
    expect(stage.run(delivered)).toBeUndefined()
    expect(delivered.milestones.map((m) => m.code)).toEqual(['delivered'])
    expect(delivered.custody).toEqual([{ item: 'parcel:p1', carrier: null, since: T0 + 1000 }])
    expect(stage.run(item({ parcel: 'TS-nobody' }))).toMatchObject({ reason: 'unknown_parcel' })
  })
})
