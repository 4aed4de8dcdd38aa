import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'
import { describe, expect, it } from 'vitest'
import { decodeLiveFrame, encodeLiveFrame, type LiveFrame, type LiveFramePosition } from '../../proto/live-codec.js'

const T0 = Date.UTC(2026, 10, 23, 3, 0, 0)
const schema = protobuf.loadSync(fileURLToPath(new URL('../../proto/live.proto', import.meta.url))).lookupType('trackstream.live.v1.LiveFrame')

function position (overrides: Partial<LiveFramePosition> = {}): LiveFramePosition {
  return { deviceId: 'van-1', vehicleId: 'V1', lat: 13.7563, lon: 100.5018, speed: 12.5, heading: 90, time: T0, ...overrides }
}

const roundTrip = (frame: LiveFrame): LiveFrame => decodeLiveFrame(encodeLiveFrame(frame))

describe('live frame codec', () => {
  it('round-trips a snapshot and a positions frame, six decimals exactly', () => {
    const positions = [position(), position({ deviceId: 'truck-9', vehicleId: 'T9', lat: 45.271234, lon: 13.712345, speed: 25, heading: 359, time: T0 - 40 })]
    expect(roundTrip({ type: 'snapshot', positions })).toEqual({ type: 'snapshot', positions })
    expect(roundTrip({ type: 'positions', positions })).toEqual({ type: 'positions', positions })
  })

  it('keeps negative coordinates, both sides of the antimeridian and the poles', () => {
    const positions = [
      position({ deviceId: 'sydney', lat: -33.868820, lon: 151.209296 }),
      position({ deviceId: 'east', lat: -16.5, lon: 179.999999 }),
      position({ deviceId: 'west', lat: -16.5, lon: -179.999999 }),
      position({ deviceId: 'dateline', lat: 0.000001, lon: -180 }),
      position({ deviceId: 'dateline-e', lat: -0.000001, lon: 180 }),
      position({ deviceId: 'north', lat: 90, lon: -0.5 }),
      position({ deviceId: 'south', lat: -90, lon: 0.5 })
    ]
    expect(roundTrip({ type: 'positions', positions }).positions).toEqual(positions)
  })

  it('keeps null vehicle, speed and heading apart from an empty id and zeros', () => {
    const positions = [
      position({ deviceId: 'loose', vehicleId: null, speed: null, heading: null }),
      position({ deviceId: 'parked', vehicleId: '', speed: 0, heading: 0, lat: 0, lon: 0 })
    ]
    expect(roundTrip({ type: 'positions', positions }).positions).toEqual(positions)
  })

  it('is within 1e-6 degree of any coordinate, and sends speed to the km/h, heading to the degree', () => {
    let worst = 0
    for (let i = 0; i < 2000; i++) {
      const lat = (Math.random() * 2 - 1) * 90
      const lon = (Math.random() * 2 - 1) * 180
      const [decoded] = roundTrip({ type: 'positions', positions: [position({ lat, lon })] }).positions
      worst = Math.max(worst, Math.abs((decoded?.lat ?? Infinity) - lat), Math.abs((decoded?.lon ?? Infinity) - lon))
    }
    expect(worst).toBeLessThanOrEqual(0.5e-6 + 1e-12)
    const [moving] = roundTrip({ type: 'positions', positions: [position({ speed: 8.5, heading: 123.4 })] }).positions
    // 8.5 m/s is 30.6 km/h: sent as 31 km/h, which the page shows as it would have shown 8.5 m/s
    expect(moving?.speed).toBeCloseTo(31 / 3.6, 9)
    expect(Math.round((moving?.speed ?? 0) * 3.6)).toBe(Math.round(8.5 * 3.6))
    expect(moving?.heading).toBe(123)
  })

  it('keeps times to the ms, however far apart within one frame', () => {
    const positions = [position({ time: T0 }), position({ deviceId: 'old', time: T0 - 400 * 86_400_000 }), position({ deviceId: 'epoch', time: 1 })]
    expect(roundTrip({ type: 'snapshot', positions }).positions.map((p) => p.time)).toEqual([T0, T0 - 400 * 86_400_000, 1])
  })

  it('encodes empty frames, and a positions frame with nothing in it as zero bytes', () => {
    expect(encodeLiveFrame({ type: 'positions', positions: [] })).toHaveLength(0)
    expect(roundTrip({ type: 'positions', positions: [] })).toEqual({ type: 'positions', positions: [] })
    expect(roundTrip({ type: 'snapshot', positions: [] })).toEqual({ type: 'snapshot', positions: [] })
  })

  it('is the message live.proto describes, read by the full protobufjs', () => {
    const frame: LiveFrame = { type: 'snapshot', positions: [position(), position({ deviceId: 'loose', vehicleId: null, speed: null, heading: null, lat: -33.87, lon: -179.5, time: T0 - 250 })] }
    const read = schema.toObject(schema.decode(encodeLiveFrame(frame)), { longs: Number, enums: String })
    expect(read).toEqual({
      kind: 'SNAPSHOT',
      baseTimeMs: T0,
      positions: [
        { deviceId: 'van-1', vehicleId: 'V1', latE6: 13_756_300, lonE6: 100_501_800, speedKmh: 45, headingDeg: 90 },
        { deviceId: 'loose', latE6: -33_870_000, lonE6: -179_500_000, ageMs: 250 }
      ]
    })
  })

  it('decodes what the full protobufjs writes from live.proto, skipping fields it does not know', () => {
    const written = schema.encode(schema.fromObject({
      positions: [{ deviceId: 'd', latE6: -1, lonE6: 2, ageMs: 5, speedKmh: 0 }],
      baseTimeMs: T0,
      kind: 'POSITIONS'
    })).finish()
    // an unknown field 15 (varint) at frame level, as a newer server might send
    const withUnknown = new Uint8Array([...written, 15 << 3, 1])
    expect(decodeLiveFrame(withUnknown)).toEqual({
      type: 'positions',
      positions: [{ deviceId: 'd', vehicleId: null, lat: -0.000001, lon: 0.000002, speed: 0, heading: null, time: T0 - 5 }]
    })
  })

  it('is about a third of the JSON frame for a tick of moving vehicles', () => {
    const positions = Array.from({ length: 100 }, (_, i) => position({ deviceId: `bench-${i}`, vehicleId: `V${i}`, lat: 45.2 + i / 1e4, lon: 13.7 + i / 1e4, time: T0 - i }))
    const frame: LiveFrame = { type: 'positions', positions }
    expect(encodeLiveFrame(frame).length / Buffer.byteLength(JSON.stringify(frame))).toBeLessThan(0.4)
  })
})
