import protobuf from 'protobufjs/minimal.js'

/**
 * The ops feed's binary frames (live.proto), for the server and for the browser alike.
 *
 * Written against protobufjs/minimal's Reader and Writer, as `pbjs -t static` would generate it,
 * rather than loading live.proto like codec.ts does: the browser has no `fs`, and the reflection
 * build (protobufjs/light plus a JSON descriptor) costs the ops page about three times the bytes of
 * minimal. test/unit/live-codec.test.ts checks this against live.proto parsed by the full
 * protobufjs, both ways, so the .proto stays the source of truth.
 */

/** One vehicle's newest position, as the JSON frames carry it. */
export interface LiveFramePosition {
  deviceId: string
  vehicleId: string | null
  lat: number
  lon: number
  /** m/s; in a binary frame, to the nearest km/h */
  speed: number | null
  /** degrees; in a binary frame, to the nearest degree */
  heading: number | null
  /** fix time, ms since the Unix epoch */
  time: number
}

export interface LiveFrame {
  type: 'snapshot' | 'positions'
  positions: LiveFramePosition[]
}

const KIND_SNAPSHOT = 1
const E6 = 1e6
const KMH_PER_MS = 3.6

// tags: field number << 3 | wire type (0 varint, 2 length-delimited)
const FRAME_KIND = 1 << 3
const FRAME_BASE_TIME = 2 << 3
const FRAME_POSITION = 3 << 3 | 2
const DEVICE_ID = 1 << 3 | 2
const VEHICLE_ID = 2 << 3 | 2
const LAT = 3 << 3
const LON = 4 << 3
const AGE = 5 << 3
const SPEED = 6 << 3
const HEADING = 7 << 3

export function encodeLiveFrame (frame: LiveFrame): Uint8Array {
  const writer = protobuf.Writer.create()
  if (frame.type === 'snapshot') writer.uint32(FRAME_KIND).uint32(KIND_SNAPSHOT)
  let base = 0
  for (const position of frame.positions) base = Math.max(base, Math.round(position.time))
  // proto3: a zero is the default and is not written
  if (base !== 0) writer.uint32(FRAME_BASE_TIME).int64(base)
  for (const p of frame.positions) {
    writer.uint32(FRAME_POSITION).fork()
    writer.uint32(DEVICE_ID).string(p.deviceId)
    if (p.vehicleId !== null) writer.uint32(VEHICLE_ID).string(p.vehicleId)
    const lat = Math.round(p.lat * E6)
    const lon = Math.round(p.lon * E6)
    const age = base - Math.round(p.time)
    if (lat !== 0) writer.uint32(LAT).sint32(lat)
    if (lon !== 0) writer.uint32(LON).sint32(lon)
    if (age !== 0) writer.uint32(AGE).uint64(age)
    // validation keeps these ≥ 0; the clamp keeps a stray negative from becoming 2³²-1
    if (p.speed !== null) writer.uint32(SPEED).uint32(Math.max(0, Math.round(p.speed * KMH_PER_MS)))
    if (p.heading !== null) writer.uint32(HEADING).uint32(Math.max(0, Math.round(p.heading)))
    writer.ldelim()
  }
  return writer.finish()
}

export function decodeLiveFrame (bytes: Uint8Array): LiveFrame {
  const reader = protobuf.Reader.create(bytes)
  let kind = 0
  let base = 0
  const raw: Array<{ position: LiveFramePosition, age: number }> = []
  while (reader.pos < reader.len) {
    const tag = reader.uint32()
    if (tag === FRAME_KIND) kind = reader.uint32()
    else if (tag === FRAME_BASE_TIME) base = toNumber(reader.int64())
    else if (tag === FRAME_POSITION) raw.push(decodePosition(reader, reader.uint32()))
    else reader.skipType(tag & 7)
  }
  // the base may come after the positions on the wire, so times are resolved at the end
  const positions = raw.map(({ position, age }) => { position.time = base - age; return position })
  return { type: kind === KIND_SNAPSHOT ? 'snapshot' : 'positions', positions }
}

function decodePosition (reader: protobuf.Reader, length: number): { position: LiveFramePosition, age: number } {
  const end = reader.pos + length
  const position: LiveFramePosition = { deviceId: '', vehicleId: null, lat: 0, lon: 0, speed: null, heading: null, time: 0 }
  let age = 0
  while (reader.pos < end) {
    const tag = reader.uint32()
    if (tag === DEVICE_ID) position.deviceId = reader.string()
    else if (tag === VEHICLE_ID) position.vehicleId = reader.string()
    else if (tag === LAT) position.lat = reader.sint32() / E6
    else if (tag === LON) position.lon = reader.sint32() / E6
    else if (tag === AGE) age = toNumber(reader.uint64())
    else if (tag === SPEED) position.speed = reader.uint32() / KMH_PER_MS
    else if (tag === HEADING) position.heading = reader.uint32()
    else reader.skipType(tag & 7)
  }
  return { position, age }
}

/** 64-bit varints come back as a Long where the `long` package is loaded (Node), as a number where not (the page's bundle). */
function toNumber (value: protobuf.Long | number): number {
  return typeof value === 'number' ? value : protobuf.util.LongBits.from(value).toNumber(value.unsigned)
}
