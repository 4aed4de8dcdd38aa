import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { LocalBus } from '../../server/live/bus.js'
import { decodeLiveFrame } from '../../proto/live-codec.js'
import { DEFAULT_ENCODERS, LiveHub, within, type BBox, type FrameEncoders, type FrameSink } from '../../server/live/hub.js'
import { parseViewport } from '../../server/routes/live.js'
import type { LivePosition, MilestoneRow } from '../../server/model.js'

const TICK = 50
const T0 = Date.UTC(2026, 10, 23, 3, 0, 0)
const BANGKOK: BBox = [100, 13, 101, 14]

interface FakeSink extends FrameSink {
  frames: Array<string | Uint8Array>
  bufferedAmount: number
}

interface Frame {
  type: string
  positions: LivePosition[]
}

function fakeSink (): FakeSink {
  const frames: Array<string | Uint8Array> = []
  return { frames, bufferedAmount: 0, send: (frame) => { frames.push(frame) } }
}

/** Whichever format the frames came in, as the page sees them. */
function framesOf (sink: FakeSink): Frame[] {
  return sink.frames.map((f) => typeof f === 'string' ? JSON.parse(f) as Frame : decodeLiveFrame(f))
}

function position (deviceId: string, lat: number, lon: number, time: number): LivePosition {
  return { deviceId, vehicleId: `V-${deviceId}`, lat, lon, speed: 10, heading: 90, time }
}

function milestoneRow (parcelId: string, code: MilestoneRow['code'], minutes: number): MilestoneRow {
  return { parcelId, code, time: T0 + minutes * 60_000, stationId: 'BKK', lat: null, lon: null, source: 'rfid', deviceId: 'dock-1', vehicleId: null, detail: null, note: null }
}

describe('LiveHub', () => {
  let bus: LocalBus
  let hub: LiveHub

  beforeEach(() => {
    vi.useFakeTimers()
    bus = new LocalBus()
    hub = new LiveHub(bus, TICK, [position('van-1', 13.75, 100.5, T0), position('ship-1', 0.5, 175, T0)])
  })

  afterEach(() => {
    hub.close()
    vi.useRealTimers()
  })

  function move (...positions: LivePosition[]): void {
    bus.publish({ kind: 'positions', positions })
  }

  it('sends a snapshot of the viewport as soon as a viewer is added', () => {
    const sink = fakeSink()
    hub.addOps(sink, BANGKOK)
    expect(framesOf(sink)).toEqual([{ type: 'snapshot', positions: [position('van-1', 13.75, 100.5, T0)] }])
  })

  it('sends a snapshot of every known vehicle to a whole-world viewer', () => {
    const sink = fakeSink()
    hub.addOps(sink)
    expect(framesOf(sink)).toEqual([{ type: 'snapshot', positions: [position('van-1', 13.75, 100.5, T0), position('ship-1', 0.5, 175, T0)] }])
  })

  it('sends a new snapshot when the viewport changes, at once if none was sent this tick', () => {
    const sink = fakeSink()
    const viewer = hub.addOps(sink, BANGKOK)
    vi.advanceTimersByTime(TICK)
    viewer.setViewport([170, -10, -170, 10])
    expect(framesOf(sink)[1]).toEqual({ type: 'snapshot', positions: [position('ship-1', 0.5, 175, T0)] })
  })

  it('coalesces viewport changes within a tick into one snapshot of the last viewport, at the next tick', () => {
    const sink = fakeSink()
    const viewer = hub.addOps(sink, BANGKOK)
    for (let i = 0; i < 1000; i++) viewer.setViewport([100 + i / 1000, 13, 101, 14])
    viewer.setViewport([170, -10, -170, 10])
    expect(sink.frames).toHaveLength(1)
    vi.advanceTimersByTime(TICK)
    expect(framesOf(sink)).toEqual([
      { type: 'snapshot', positions: [position('van-1', 13.75, 100.5, T0)] },
      { type: 'snapshot', positions: [position('ship-1', 0.5, 175, T0)] }
    ])
  })

  it('sends a congested viewer no snapshot however often it asks, and one once it drains, even with nothing moving', () => {
    const sink = fakeSink()
    const viewer = hub.addOps(sink, BANGKOK)
    sink.bufferedAmount = (1 << 20) + 1
    for (let i = 0; i < 8000; i++) viewer.setViewport(i % 2 === 0 ? BANGKOK : null)
    vi.advanceTimersByTime(10 * TICK)
    expect(sink.frames).toHaveLength(1)
    sink.bufferedAmount = 0
    vi.advanceTimersByTime(1000)
    expect(framesOf(sink).map((f) => f.type)).toEqual(['snapshot', 'snapshot'])
    expect(framesOf(sink)[1]?.positions).toHaveLength(2)
  })

  it('coalesces many positions of one device within a tick into one frame holding only the newest', () => {
    const sink = fakeSink()
    hub.addOps(sink, BANGKOK)
    move(position('van-1', 13.76, 100.51, T0 + 1000))
    move(position('van-1', 13.77, 100.52, T0 + 2000), position('van-1', 13.78, 100.53, T0 + 3000))
    move(position('van-1', 13.79, 100.54, T0 + 4000))
    expect(sink.frames).toHaveLength(1) // nothing before the tick
    vi.advanceTimersByTime(TICK)
    expect(framesOf(sink).slice(1)).toEqual([{ type: 'positions', positions: [position('van-1', 13.79, 100.54, T0 + 4000)] }])
    vi.advanceTimersByTime(10 * TICK)
    expect(sink.frames).toHaveLength(2)
    expect(hub.latestPosition('van-1')).toEqual(position('van-1', 13.79, 100.54, T0 + 4000))
  })

  it('sends a position only to viewers whose bbox holds it, and to whole-world viewers', () => {
    const bangkok = fakeSink()
    const world = fakeSink()
    const sydney = fakeSink()
    hub.addOps(bangkok, BANGKOK)
    hub.addOps(world, null)
    hub.addOps(sydney, [150, -35, 152, -33])
    move(position('van-1', 13.8, 100.6, T0 + 1000), position('truck-9', -33.87, 151.21, T0 + 1000))
    vi.advanceTimersByTime(TICK)
    expect(framesOf(bangkok).slice(1)).toEqual([{ type: 'positions', positions: [position('van-1', 13.8, 100.6, T0 + 1000)] }])
    expect(framesOf(sydney).slice(1)).toEqual([{ type: 'positions', positions: [position('truck-9', -33.87, 151.21, T0 + 1000)] }])
    expect(framesOf(world).slice(1)).toEqual([{
      type: 'positions',
      positions: [position('van-1', 13.8, 100.6, T0 + 1000), position('truck-9', -33.87, 151.21, T0 + 1000)]
    }])
  })

  it('sends nothing to a viewer when nothing moved inside its bbox', () => {
    const sink = fakeSink()
    hub.addOps(sink, [150, -35, 152, -33])
    move(position('van-1', 13.8, 100.6, T0 + 1000))
    vi.advanceTimersByTime(TICK)
    expect(framesOf(sink)).toEqual([{ type: 'snapshot', positions: [] }])
  })

  it('ignores a position older than the one known for its device', () => {
    const sink = fakeSink()
    hub.addOps(sink, null)
    move(position('van-1', 13.9, 100.9, T0 - 1000))
    move(position('van-1', 13.95, 100.95, T0))
    vi.advanceTimersByTime(TICK)
    expect(sink.frames).toHaveLength(1)
    expect(hub.latestPosition('van-1')).toEqual(position('van-1', 13.75, 100.5, T0))
  })

  it('keeps the newest of a late and a new position that arrive in the same tick', () => {
    const sink = fakeSink()
    hub.addOps(sink, null)
    move(position('van-1', 13.8, 100.8, T0 + 2000), position('van-1', 13.7, 100.7, T0 + 1000))
    vi.advanceTimersByTime(TICK)
    expect(framesOf(sink).slice(1)).toEqual([{ type: 'positions', positions: [position('van-1', 13.8, 100.8, T0 + 2000)] }])
  })

  it('skips a congested viewer for a tick, then sends it a full snapshot instead of a delta once drained', () => {
    const congested = fakeSink()
    const healthy = fakeSink()
    hub.addOps(congested, null)
    hub.addOps(healthy, null)
    congested.bufferedAmount = (1 << 20) + 1
    move(position('van-1', 13.8, 100.6, T0 + 1000))
    vi.advanceTimersByTime(TICK)
    expect(congested.frames).toHaveLength(1)
    expect(healthy.frames).toHaveLength(2)

    congested.bufferedAmount = 0
    move(position('truck-9', 14, 101, T0 + 2000))
    vi.advanceTimersByTime(TICK)
    expect(framesOf(congested).slice(1)).toEqual([{
      type: 'snapshot',
      positions: [position('van-1', 13.8, 100.6, T0 + 1000), position('ship-1', 0.5, 175, T0), position('truck-9', 14, 101, T0 + 2000)]
    }])
    expect(framesOf(healthy).slice(2)).toEqual([{ type: 'positions', positions: [position('truck-9', 14, 101, T0 + 2000)] }])

    move(position('truck-9', 14.1, 101.1, T0 + 3000))
    vi.advanceTimersByTime(TICK)
    expect(framesOf(congested).slice(2)).toEqual([{ type: 'positions', positions: [position('truck-9', 14.1, 101.1, T0 + 3000)] }])
  })

  it('does not count a buffer of exactly 1 MiB as congested', () => {
    const sink = fakeSink()
    hub.addOps(sink, null)
    sink.bufferedAmount = 1 << 20
    move(position('van-1', 13.8, 100.6, T0 + 1000))
    vi.advanceTimersByTime(TICK)
    expect(framesOf(sink).map((f) => f.type)).toEqual(['snapshot', 'positions'])
  })

  it('sends a protobuf viewer binary frames and a JSON viewer text frames on the same tick, with the same content', () => {
    const json = fakeSink()
    const binary = fakeSink()
    hub.addOps(json, BANGKOK)
    hub.addOps(binary, BANGKOK, 'protobuf')
    move(position('van-1', 13.8, 100.6, T0 + 1000), position('truck-9', -33.87, 151.21, T0 + 1000))
    vi.advanceTimersByTime(TICK)
    expect(json.frames.map((f) => typeof f)).toEqual(['string', 'string'])
    expect(binary.frames.every((f) => f instanceof Uint8Array)).toBe(true)
    expect(framesOf(binary)).toEqual(framesOf(json))
    expect(framesOf(binary)).toEqual([
      { type: 'snapshot', positions: [position('van-1', 13.75, 100.5, T0)] },
      { type: 'positions', positions: [position('van-1', 13.8, 100.6, T0 + 1000)] }
    ])
  })

  it('encodes the whole-world frame once per format, and sends the same bytes to every such viewer', () => {
    const calls = { json: 0, protobuf: 0 }
    const counting: FrameEncoders = {
      json: (frame) => { calls.json++; return DEFAULT_ENCODERS.json(frame) },
      protobuf: (frame) => { calls.protobuf++; return DEFAULT_ENCODERS.protobuf(frame) }
    }
    const counted = new LiveHub(bus, TICK, [], counting)
    const [jsonA, jsonB, binaryA, binaryB, binaryBangkok] = [fakeSink(), fakeSink(), fakeSink(), fakeSink(), fakeSink()]
    counted.addOps(jsonA, null)
    counted.addOps(jsonB, null)
    counted.addOps(binaryA, null, 'protobuf')
    counted.addOps(binaryB, null, 'protobuf')
    counted.addOps(binaryBangkok, BANGKOK, 'protobuf')
    // the whole-world snapshot once per format, and the viewport viewer's own
    expect(calls).toEqual({ json: 1, protobuf: 2 })
    expect(jsonA.frames[0]).toBe(jsonB.frames[0])
    expect(binaryA.frames[0]).toBe(binaryB.frames[0])
    move(position('van-1', 13.8, 100.6, T0 + 1000))
    vi.advanceTimersByTime(TICK)
    // one shared frame per format, plus the viewport viewer's own
    expect(calls).toEqual({ json: 2, protobuf: 4 })
    expect(jsonA.frames[1]).toBe(jsonB.frames[1])
    expect(binaryA.frames[1]).toBeInstanceOf(Uint8Array)
    expect(binaryA.frames[1]).toBe(binaryB.frames[1])
    expect(framesOf(binaryBangkok)[1]).toEqual({ type: 'positions', positions: [position('van-1', 13.8, 100.6, T0 + 1000)] })
    // a position changed: the next whole-world snapshot is encoded afresh, and holds it
    const late = fakeSink()
    counted.addOps(late, null, 'protobuf')
    expect(calls.protobuf).toBe(5)
    expect(framesOf(late)).toEqual([{ type: 'snapshot', positions: [position('van-1', 13.8, 100.6, T0 + 1000)] }])
    counted.close()
  })

  it('switches a viewer to the format its new viewport asks for, with a snapshot, and keeps it when none is given', () => {
    const sink = fakeSink()
    const viewer = hub.addOps(sink, BANGKOK)
    vi.advanceTimersByTime(TICK)
    viewer.setViewport(BANGKOK, 'protobuf')
    vi.advanceTimersByTime(TICK)
    viewer.setViewport(null)
    vi.advanceTimersByTime(TICK)
    viewer.setViewport(null, 'json')
    expect(sink.frames.map((f) => typeof f === 'string' ? 'json' : 'protobuf')).toEqual(['json', 'protobuf', 'protobuf', 'json'])
    expect(framesOf(sink).map((f) => f.type)).toEqual(['snapshot', 'snapshot', 'snapshot', 'snapshot'])
  })

  it('resyncs a congested protobuf viewer with a binary snapshot', () => {
    const sink = fakeSink()
    hub.addOps(sink, null, 'protobuf')
    sink.bufferedAmount = (1 << 20) + 1
    move(position('van-1', 13.8, 100.6, T0 + 1000))
    vi.advanceTimersByTime(TICK)
    sink.bufferedAmount = 0
    move(position('ship-1', 0.6, 175.1, T0 + 2000))
    vi.advanceTimersByTime(TICK)
    expect(sink.frames[1]).toBeInstanceOf(Uint8Array)
    expect(framesOf(sink)[1]).toEqual({ type: 'snapshot', positions: [position('van-1', 13.8, 100.6, T0 + 1000), position('ship-1', 0.6, 175.1, T0 + 2000)] })
  })

  it('sends a parcel watcher only the milestones of its parcel, and nothing after it unsubscribes', () => {
    const seen: MilestoneRow[][] = []
    const unsubscribe = hub.watchParcel('P1', (milestones) => { seen.push(milestones) })
    const a = milestoneRow('P1', 'arrived_at_facility', 0)
    const b = milestoneRow('P2', 'arrived_at_facility', 1)
    const c = milestoneRow('P1', 'sorted', 2)
    bus.publish({ kind: 'milestones', milestones: [a, b, c] })
    expect(seen).toEqual([[a, c]])
    bus.publish({ kind: 'milestones', milestones: [b] })
    expect(seen).toHaveLength(1)
    unsubscribe()
    bus.publish({ kind: 'milestones', milestones: [milestoneRow('P1', 'departed_facility', 3)] })
    expect(seen).toEqual([[a, c]])
  })

  it('keeps notifying the other watchers of a parcel when one unsubscribes', () => {
    const first: MilestoneRow[][] = []
    const second: MilestoneRow[][] = []
    const stopFirst = hub.watchParcel('P1', (m) => { first.push(m) })
    hub.watchParcel('P1', (m) => { second.push(m) })
    stopFirst()
    const row = milestoneRow('P1', 'sorted', 5)
    bus.publish({ kind: 'milestones', milestones: [row] })
    expect(first).toEqual([])
    expect(second).toEqual([[row]])
  })

  it('stops sending to a viewer that closed', () => {
    const sink = fakeSink()
    const viewer = hub.addOps(sink, null)
    expect(hub.opsViewerCount).toBe(1)
    viewer.close()
    expect(hub.opsViewerCount).toBe(0)
    move(position('van-1', 13.8, 100.6, T0 + 1000))
    vi.advanceTimersByTime(TICK)
    expect(sink.frames).toHaveLength(1)
  })

  it('delivers nothing after close(), neither pending positions nor milestones', () => {
    const sink = fakeSink()
    const seen: MilestoneRow[][] = []
    hub.addOps(sink, null)
    hub.watchParcel('P1', (m) => { seen.push(m) })
    move(position('van-1', 13.8, 100.6, T0 + 1000))
    hub.close()
    vi.advanceTimersByTime(10 * TICK)
    move(position('van-1', 13.9, 100.7, T0 + 2000))
    bus.publish({ kind: 'milestones', milestones: [milestoneRow('P1', 'sorted', 1)] })
    vi.advanceTimersByTime(10 * TICK)
    expect(sink.frames).toHaveLength(1)
    expect(seen).toEqual([])
    expect(hub.latestPosition('van-1')).toEqual(position('van-1', 13.8, 100.6, T0 + 1000))
  })
})

describe('within', () => {
  const at = (lat: number, lon: number): LivePosition => position(`d${lat},${lon}`, lat, lon, T0)

  it('returns every position for a null bbox', () => {
    const all = [at(0, 0), at(89, 179)]
    expect(within(all, null)).toEqual(all)
  })

  it('includes the edges of an ordinary bbox and excludes what is outside', () => {
    const inside = [at(13, 100), at(14, 101), at(13.5, 100.5)]
    const outside = [at(12.99, 100.5), at(14.01, 100.5), at(13.5, 99.99), at(13.5, 101.01)]
    expect(within([...inside, ...outside], BANGKOK)).toEqual(inside)
  })

  it('handles a bbox crossing the antimeridian: lon 175 and -175 are in, 0 is out', () => {
    const bbox: BBox = [170, -10, -170, 10]
    expect(within([at(0, 175), at(0, -175), at(0, 0), at(0, 170), at(0, -170), at(0, 169.9), at(0, -169.9), at(11, 175)], bbox))
      .toEqual([at(0, 175), at(0, -175), at(0, 170), at(0, -170)])
  })
})

describe('parseViewport', () => {
  it('returns the bbox of a valid viewport message, in JSON when no format is asked for', () => {
    expect(parseViewport('{"type":"viewport","bbox":[100,13,101,14]}')).toEqual({ bbox: [100, 13, 101, 14], format: 'json' })
  })

  it('accepts a bbox crossing the antimeridian', () => {
    expect(parseViewport('{"type":"viewport","bbox":[170,-10,-170,10]}')).toEqual({ bbox: [170, -10, -170, 10], format: 'json' })
  })

  it('returns a null bbox for null, meaning the whole world', () => {
    expect(parseViewport('{"type":"viewport","bbox":null}')).toEqual({ bbox: null, format: 'json' })
  })

  it('takes the format asked for: protobuf or json', () => {
    expect(parseViewport('{"type":"viewport","bbox":null,"format":"protobuf"}')).toEqual({ bbox: null, format: 'protobuf' })
    expect(parseViewport('{"type":"viewport","bbox":[100,13,101,14],"format":"json"}')).toEqual({ bbox: [100, 13, 101, 14], format: 'json' })
  })

  it.each([
    ['malformed JSON', '{"type":"viewport","bbox":[1,2,3,4]'],
    ['a wrong type', '{"type":"zoom","bbox":[100,13,101,14]}'],
    ['no type', '{"bbox":[100,13,101,14]}'],
    ['a JSON array', '[100,13,101,14]'],
    ['JSON null', 'null'],
    ['a missing bbox', '{"type":"viewport"}'],
    ['3 numbers', '{"type":"viewport","bbox":[100,13,101]}'],
    ['5 numbers', '{"type":"viewport","bbox":[100,13,101,14,15]}'],
    ['a string in the bbox', '{"type":"viewport","bbox":[100,"13",101,14]}'],
    ['south above north', '{"type":"viewport","bbox":[100,14,101,13]}'],
    ['lat 91', '{"type":"viewport","bbox":[100,13,101,91]}'],
    ['lat -91', '{"type":"viewport","bbox":[100,-91,101,14]}'],
    ['lon 181', '{"type":"viewport","bbox":[100,13,181,14]}'],
    ['lon -181', '{"type":"viewport","bbox":[-181,13,101,14]}'],
    ['a bbox object', '{"type":"viewport","bbox":{"west":100}}'],
    ['an unknown format', '{"type":"viewport","bbox":null,"format":"msgpack"}'],
    ['a format in capitals', '{"type":"viewport","bbox":null,"format":"PROTOBUF"}'],
    ['a null format', '{"type":"viewport","bbox":null,"format":null}'],
    ['a valid format with a bad bbox', '{"type":"viewport","bbox":[100,13,101],"format":"protobuf"}']
  ])('returns undefined for %s', (_what, text) => {
    expect(parseViewport(text)).toBeUndefined()
  })
})
