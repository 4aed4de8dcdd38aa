import type { Duplex } from 'node:stream'

const PUBLISH = 3

/** What one chunk held, up to where reading should stop. */
export interface Framed {
  /** Bytes of the chunk to hand on; the rest waits. */
  end: number
  /** PUBLISH packets that begin within those bytes. */
  publishes: number
  /** The announced size of an oversized packet, or -1. */
  oversized: number
}

/**
 * Follows MQTT's framing as bytes arrive, without buffering: reads the remaining-length field of
 * each fixed header and skips the body. mqtt-packet buffers a whole packet before aedes sees it,
 * whatever its size, so this is where a packet announcing more than the limit is caught before its
 * body is read; and where reading can stop right before a PUBLISH the device may not send yet.
 */
export class PacketSizeGuard {
  private bodyLeft = 0
  private header: number[] = []

  constructor (private readonly maxBytes: number) {}

  /** Returns the announced size of the first oversized packet in the chunk, or -1. */
  inspect (chunk: Buffer): number {
    return this.take(chunk, Number.POSITIVE_INFINITY).oversized
  }

  /** Consumes the chunk up to (not including) the first byte of PUBLISH number `maxPublishes + 1`. */
  take (chunk: Buffer, maxPublishes: number): Framed {
    let i = 0
    let publishes = 0
    while (i < chunk.length) {
      if (this.bodyLeft > 0) {
        const n = Math.min(this.bodyLeft, chunk.length - i)
        this.bodyLeft -= n
        i += n
        continue
      }
      const byte = chunk[i] as number
      if (this.header.length === 0 && byte >> 4 === PUBLISH) {
        if (publishes >= maxPublishes) return { end: i, publishes, oversized: -1 }
        publishes++
      }
      i++
      this.header.push(byte)
      // byte 0 is the packet type; then 1 to 4 length bytes, each with a continuation bit
      if (this.header.length === 1 || ((byte & 0x80) !== 0 && this.header.length < 5)) continue
      const length = this.remainingLength()
      this.header = []
      if (length > this.maxBytes) return { end: i, publishes, oversized: length }
      this.bodyLeft = length
    }
    return { end: i, publishes, oversized: -1 }
  }

  private remainingLength (): number {
    let length = 0
    let multiplier = 1
    for (let k = 1; k < this.header.length; k++) {
      length += ((this.header[k] as number) & 0x7f) * multiplier
      multiplier *= 128
    }
    return length
  }
}

/** How many more PUBLISH packets a connection may be handed now; flow-control.ts keeps the count. */
export interface ReadBudget {
  allowance: () => number
  /** `count` PUBLISH packets (maybe none) were handed to the broker. */
  took: (count: number) => void
  /** Nothing may be read now: call `wake` once something may. */
  waitFor: (wake: () => void) => void
}

/**
 * aedes pulls bytes with conn.read(); wrapping that one method inspects every chunk without an
 * extra stream in the path. Over the size limit, the connection is cut. Out of budget, read()
 * answers null and the bytes stay in the socket: its buffer fills, the kernel's fills, and TCP
 * tells the device to stop sending. A chunk holding more PUBLISH packets than the budget allows
 * is split, and the rest put back for later.
 */
export function guardPacketSize (conn: Duplex, maxBytes: number, onOversized: (bytes: number) => void, budget?: ReadBudget): Duplex {
  const guard = new PacketSizeGuard(maxBytes)
  const read = conn.read.bind(conn)
  const wake = (): void => { if (!conn.destroyed) conn.emit('readable') }
  conn.read = (size?: number) => {
    const allowance = budget?.allowance() ?? Number.POSITIVE_INFINITY
    if (allowance <= 0) {
      budget?.waitFor(wake)
      return null
    }
    const chunk: unknown = read(size)
    if (!Buffer.isBuffer(chunk)) {
      budget?.took(0)
      return chunk
    }
    const { end, publishes, oversized } = guard.take(chunk, allowance)
    if (oversized >= 0) {
      onOversized(oversized)
      conn.destroy()
      return null
    }
    budget?.took(publishes)
    if (end === chunk.length) return chunk
    conn.unshift(chunk.subarray(end))
    return end === 0 ? null : chunk.subarray(0, end)
  }
  return conn
}
