import mqttPacket from 'mqtt-packet'
import { describe, expect, it } from 'vitest'
import { PacketSizeGuard } from '../../gateway/packet-size-guard.js'

const TOPIC = 'ts/v1/van-1/fix'

function publish (payloadBytes: number): Buffer {
  return mqttPacket.generate({ cmd: 'publish', topic: TOPIC, payload: Buffer.alloc(payloadBytes, 0x41), qos: 0, retain: false, dup: false })
}

/** A QoS 0 PUBLISH's remaining length: topic length prefix, topic, payload. */
function remainingLengthOf (payloadBytes: number): number {
  return 2 + TOPIC.length + payloadBytes
}

/** The MQTT variable-length encoding of a remaining length, written independently of the guard. */
function encodeLength (length: number): number[] {
  const bytes: number[] = []
  do {
    let byte = length % 128
    length = Math.floor(length / 128)
    if (length > 0) byte |= 0x80
    bytes.push(byte)
  } while (length > 0)
  return bytes
}

/** Just the fixed header of a PUBLISH announcing `length` bytes, with no body after it. */
function publishHeader (length: number): Buffer {
  return Buffer.from([0x30, ...encodeLength(length)])
}

/** Feeds the chunks in order; returns each chunk's verdict. */
function feed (guard: PacketSizeGuard, chunks: Buffer[]): number[] {
  return chunks.map((chunk) => guard.inspect(chunk))
}

function chunksOf (buffer: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = []
  for (let i = 0; i < buffer.length; i += size) chunks.push(buffer.subarray(i, i + size))
  return chunks
}

const PINGREQ = mqttPacket.generate({ cmd: 'pingreq' })
/** Remaining lengths 1-byte (17, 117), 2-byte (317) and 0 (PINGREQ). */
const SMALL_STREAM = Buffer.concat([publish(0), publish(100), PINGREQ, publish(300), publish(100)])
const SMALL_MAX = remainingLengthOf(300)

describe('the test packets', () => {
  it('carry the remaining lengths the tests rely on', () => {
    expect([...publish(0).subarray(0, 2)]).toEqual([0x30, 17])
    expect([...publish(300).subarray(0, 3)]).toEqual([0x30, ...encodeLength(317)])
    expect(encodeLength(317)).toEqual([0xbd, 0x02])
    expect([...PINGREQ]).toEqual([0xc0, 0x00])
    expect(publish(2_097_152).subarray(0, 5)).toEqual(Buffer.from([0x30, ...encodeLength(remainingLengthOf(2_097_152))]))
    expect(encodeLength(remainingLengthOf(2_097_152))).toHaveLength(4)
  })
})

describe('PacketSizeGuard', () => {
  it('returns -1 for a stream of packets under the limit fed whole', () => {
    expect(new PacketSizeGuard(SMALL_MAX).inspect(SMALL_STREAM)).toBe(-1)
  })

  it('returns -1 for every chunk wherever the stream is split in two', () => {
    for (let at = 0; at <= SMALL_STREAM.length; at++) {
      const verdicts = feed(new PacketSizeGuard(SMALL_MAX), [SMALL_STREAM.subarray(0, at), SMALL_STREAM.subarray(at)])
      expect(verdicts, `split at ${at}`).toEqual([-1, -1])
    }
  })

  it('returns -1 for every chunk when the stream arrives byte by byte', () => {
    const verdicts = feed(new PacketSizeGuard(SMALL_MAX), chunksOf(SMALL_STREAM, 1))
    expect(verdicts).toEqual(new Array<number>(SMALL_STREAM.length).fill(-1))
  })

  it('stays in step with packet boundaries wherever the stream is split: an oversized header after it is found with its exact size', () => {
    // any byte misread as a header would announce some other length, or none
    const oversized = publishHeader(SMALL_MAX + 1)
    const stream = Buffer.concat([SMALL_STREAM, oversized])
    for (let at = 0; at <= stream.length; at++) {
      const verdicts = feed(new PacketSizeGuard(SMALL_MAX), [stream.subarray(0, at), stream.subarray(at)])
      const expected = at >= stream.length ? [SMALL_MAX + 1, -1] : [-1, SMALL_MAX + 1]
      expect(verdicts, `split at ${at}`).toEqual(expected)
    }
  })

  it('reports an oversized packet on the byte that completes its header when fed byte by byte', () => {
    const stream = Buffer.concat([SMALL_STREAM, publish(400)])
    const verdicts = feed(new PacketSizeGuard(SMALL_MAX), chunksOf(stream, 1))
    const headerEnd = SMALL_STREAM.length + 2 // type byte, then two length bytes
    expect(verdicts.slice(0, headerEnd)).toEqual(new Array<number>(headerEnd).fill(-1))
    expect(verdicts[headerEnd]).toBe(remainingLengthOf(400))
  })

  it('returns the announced remaining length of one oversized packet', () => {
    expect(new PacketSizeGuard(1024).inspect(publish(2000))).toBe(remainingLengthOf(2000))
  })

  it('returns the announced length when a 3-byte header is split across chunks at every point', () => {
    const packet = publish(20_000) // remaining length 20,017 needs 3 length bytes
    expect(encodeLength(remainingLengthOf(20_000))).toHaveLength(3)
    for (const at of [1, 2, 3]) {
      const verdicts = feed(new PacketSizeGuard(1024), [packet.subarray(0, at), packet.subarray(at)])
      expect(verdicts, `split at ${at}`).toEqual([-1, remainingLengthOf(20_000)])
    }
    expect(feed(new PacketSizeGuard(1024), chunksOf(packet.subarray(0, 4), 1))).toEqual([-1, -1, -1, remainingLengthOf(20_000)])
  })

  it('treats the limit as inclusive: a remaining length equal to the limit is allowed, one more is not', () => {
    const packet = publish(500)
    const length = remainingLengthOf(500)
    expect(new PacketSizeGuard(length).inspect(packet)).toBe(-1)
    expect(new PacketSizeGuard(length - 1).inspect(packet)).toBe(length)
  })

  it('reads the largest 4-byte remaining length exactly', () => {
    expect(new PacketSizeGuard(1024).inspect(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]))).toBe(268_435_455)
  })

  it('reads a 4-byte remaining length split over four chunks', () => {
    const verdicts = feed(new PacketSizeGuard(1024), [Buffer.from([0x30, 0x80]), Buffer.from([0x80]), Buffer.from([0x80]), Buffer.from([0x01])])
    expect(verdicts).toEqual([-1, -1, -1, 2_097_152])
  })

  it('parses a real packet with a 4-byte remaining-length header and the packet after it', () => {
    const big = publish(2_097_152)
    const length = remainingLengthOf(2_097_152)
    const stream = Buffer.concat([big, publish(10), publishHeader(length + 1)])
    expect(feed(new PacketSizeGuard(length), chunksOf(stream, 65_536)).filter((v) => v !== -1)).toEqual([length + 1])
    expect(new PacketSizeGuard(length - 1).inspect(big)).toBe(length)
  })

  it('skips the body of a large allowed packet across many chunks and parses the packets after it', () => {
    const big = publish(100_000)
    const max = remainingLengthOf(100_000)
    const stream = Buffer.concat([big, publish(5), PINGREQ, publish(50), publishHeader(max + 1)])
    for (const size of [1, 7, 1000, 4096, 99_999, 100_019, stream.length]) {
      const verdicts = feed(new PacketSizeGuard(max), chunksOf(stream, size))
      expect(verdicts.slice(0, -1), `chunks of ${size}`).toEqual(new Array<number>(verdicts.length - 1).fill(-1))
      expect(verdicts.at(-1), `chunks of ${size}`).toBe(max + 1)
    }
  })

  it('handles a chunk that ends exactly where a body ends', () => {
    const first = publish(200)
    const guard = new PacketSizeGuard(1024)
    expect(guard.inspect(first)).toBe(-1)
    expect(guard.inspect(publishHeader(1025))).toBe(1025)
  })
})

describe('PacketSizeGuard.take', () => {
  const stream = Buffer.concat([publish(10), PINGREQ, publish(20), publish(30), PINGREQ, publish(40)])
  const starts = [0, publish(10).length + PINGREQ.length, publish(10).length + PINGREQ.length + publish(20).length,
    publish(10).length + PINGREQ.length + publish(20).length + publish(30).length + PINGREQ.length]

  it('counts the PUBLISH packets that begin in a chunk, and not the others', () => {
    expect(new PacketSizeGuard(1024).take(stream, Number.POSITIVE_INFINITY)).toEqual({ end: stream.length, publishes: 4, oversized: -1 })
  })

  it.each([1, 2, 3])('stops right before PUBLISH number %i + 1, at a packet boundary', (allowed) => {
    const guard = new PacketSizeGuard(1024)
    const first = guard.take(stream, allowed)
    expect(first.publishes).toBe(allowed)
    expect(first.end).toBe(starts[allowed])
    // the rest, handed over later, is framed from where the first part stopped
    const rest = guard.take(stream.subarray(first.end), Number.POSITIVE_INFINITY)
    expect(rest).toEqual({ end: stream.length - first.end, publishes: 4 - allowed, oversized: -1 })
  })

  it('counts a PUBLISH whose header begins in one chunk and ends in the next once, in the first', () => {
    const guard = new PacketSizeGuard(1024)
    const packet = publish(200)
    expect(guard.take(packet.subarray(0, 1), 5)).toEqual({ end: 1, publishes: 1, oversized: -1 })
    expect(guard.take(packet.subarray(1), 5)).toEqual({ end: packet.length - 1, publishes: 0, oversized: -1 })
  })

  it('takes nothing when no PUBLISH is allowed and one comes first', () => {
    expect(new PacketSizeGuard(1024).take(stream, 0)).toEqual({ end: 0, publishes: 0, oversized: -1 })
  })

  it('passes packets other than PUBLISH when no PUBLISH is allowed', () => {
    expect(new PacketSizeGuard(1024).take(Buffer.concat([PINGREQ, PINGREQ, publish(1)]), 0)).toEqual({ end: 4, publishes: 0, oversized: -1 })
  })
})
