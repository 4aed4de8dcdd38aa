import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { LocalBus } from '../../server/live/bus.js'
import { VanFeed } from '../../server/live/van-feed.js'
import type { Engine } from '../../server/engine/engine.js'
import { parcelRef, vehicleRef } from '../../server/tracking/custody.js'
import type { MilestoneCode } from '../../server/tracking/milestones.js'
import type { PublicVan } from '../../server/tracking/van-view.js'
import type { ActiveParcel, LivePosition, MilestoneRow } from '../../server/model.js'
import { newParcel, testEngine } from '../support/engine.js'

const T0 = Date.UTC(2026, 10, 23, 3, 0, 0)
const HOME = { lat: 13.7563, lon: 100.5018 }

/**
 * The feed against the real engine: the pipeline's side (moves, milestones, fixes) is played by
 * commands to the engine, and the bus carries what the pipeline would publish once committed.
 */
describe('VanFeed', () => {
  let bus: LocalBus
  let engine: Engine
  let feed: VanFeed
  let time = T0

  const parcel = (id: string, dest: { lat: number, lon: number } | null): ActiveParcel =>
    engine.admit(newParcel(id, T0, { originCountry: null, destination: { name: null, address: null, city: 'Bangkok', postcode: null, country: 'TH', lat: dest?.lat ?? null, lon: dest?.lon ?? null } }))
  const context = (at: number) => ({ time: at, source: 'api' as const, deviceId: null, stationId: null })
  const committed = (milestones: MilestoneRow[]): void => { bus.publish({ kind: 'milestones', milestones }) }
  /** A milestone recorded by the engine, then committed: the track first, as the pipeline does, then the bus. */
  const milestone = (record: ActiveParcel, code: MilestoneCode, at?: { lat: number, lon: number }): void => {
    time += 1000
    committed(engine.recordMilestone(record, code, context(time), null, at).milestones)
  }
  const load = (id: string, vehicleId: string, at: number): void => {
    committed(engine.move(parcelRef(id), vehicleRef(vehicleId), context(at)).milestones)
  }
  const fix = (deviceId: string, lat: number, lon: number, at = (time += 1000)): void => {
    const vehicleId = engine.vehicleOfDevice(deviceId)
    engine.isLate({ deviceId, time: at, lat, lon })
    const position: LivePosition = { deviceId, vehicleId, lat, lon, speed: null, heading: null, time: at }
    bus.publish({ kind: 'positions', positions: [position] })
  }
  const watch = (record: ActiveParcel): { sent: Array<PublicVan | null>, van: PublicVan | null, stop: () => void } => {
    const sent: Array<PublicVan | null> = []
    const subscription = feed.watch(record, (van) => { sent.push(van) })
    return { sent, ...subscription }
  }

  beforeEach(() => {
    time = T0
    bus = new LocalBus()
    engine = testEngine()
    for (const n of [1, 2]) engine.putVehicle({ id: `V${n}`, name: `Van ${n}`, plate: null, deviceId: `trk-${n}`, driver: null, createdAt: new Date(T0) })
    feed = new VanFeed(bus, engine.store)
  })

  afterEach(() => { feed.close() })

  it('says nothing until the parcel is out for delivery on a van, then follows that van only', () => {
    const a = parcel('a', HOME)
    load('a', 'V1', time)
    fix('trk-1', 13.8123, 100.5678)
    const buyer = watch(a)
    expect(buyer.van).toBeNull()
    fix('trk-1', 13.6952, 100.6043)
    expect(buyer.sent).toEqual([])

    milestone(a, 'out_for_delivery')
    expect(buyer.sent).toEqual([{ lat: 13.69, lon: 100.61, precise: false, time: new Date(time - 1000).toISOString() }])
    expect(feed.current(a)).toEqual(buyer.sent[0])
    // another van's fixes are not this buyer's business
    fix('trk-2', 13.75, 100.5)
    expect(buyer.sent).toHaveLength(1)
    fix('trk-1', HOME.lat - 0.005, HOME.lon)
    expect(buyer.sent.at(-1)).toMatchObject({ lat: HOME.lat - 0.005, lon: HOME.lon, precise: true })
  })

  it('follows the parcel onto another van, and lets go of the first', () => {
    const a = parcel('a', HOME)
    load('a', 'V1', time)
    fix('trk-1', 13.8123, 100.5678)
    fix('trk-2', 13.6952, 100.6043)
    milestone(a, 'out_for_delivery')
    const buyer = watch(a)
    expect(buyer.van).toMatchObject({ lat: 13.81, lon: 100.57 })
    load('a', 'V2', time + 1)
    expect(buyer.sent).toEqual([expect.objectContaining({ lat: 13.69, lon: 100.61 })])
    fix('trk-1', 13.5, 100.3)
    expect(buyer.sent).toHaveLength(1)
    fix('trk-2', 13.5, 100.3)
    expect(buyer.sent).toHaveLength(2)
  })

  it('ends with null when the parcel is delivered, and sends nothing after', () => {
    const a = parcel('a', HOME)
    load('a', 'V1', time)
    fix('trk-1', 13.8123, 100.5678)
    milestone(a, 'out_for_delivery')
    const buyer = watch(a)
    milestone(a, 'delivered', HOME)
    expect(buyer.sent).toEqual([null])
    fix('trk-1', 13.7, 100.5)
    expect(buyer.sent).toEqual([null])
    expect(feed.current(a)).toBeNull()
  })

  it('ignores a fix older than the one shown, and stops calling a buyer who left', () => {
    const a = parcel('a', HOME)
    load('a', 'V1', time)
    fix('trk-1', 13.8123, 100.5678)
    milestone(a, 'out_for_delivery')
    const buyer = watch(a)
    fix('trk-1', 13.6952, 100.6043, T0 - 60_000)
    expect(buyer.sent).toEqual([])
    buyer.stop()
    fix('trk-1', 13.6952, 100.6043)
    expect(buyer.sent).toEqual([])
  })

  it('keeps a parked van in its cell for GET too, however its fix jitters across the edge', () => {
    const a = parcel('a', null)
    load('a', 'V1', time)
    milestone(a, 'out_for_delivery')
    // parked 10 m south of the line between two cells, then 10 m north of it
    fix('trk-1', 13.7599, 100.5)
    expect(feed.current(a)).toMatchObject({ lat: 13.75, precise: false })
    fix('trk-1', 13.7601, 100.5)
    expect(feed.current(a)).toMatchObject({ lat: 13.75, precise: false })
    // a fresh feed, with no memory, would have said the other cell
    const fresh = new VanFeed(new LocalBus(), engine.store)
    expect(fresh.current(a)).toMatchObject({ lat: 13.77 })
    fresh.close()
  })
})
