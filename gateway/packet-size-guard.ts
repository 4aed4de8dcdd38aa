import type { Duplex } from 'node:stream'

/**
 * mqtt-packet buffers a whole packet before aedes sees it, whatever its size. This reads the
 * remaining-length field of each MQTT fixed header as bytes arrive and cuts the connection as soon
 * as a packet announces more than the limit, before its body is buffered.
 */
export class PacketSizeGuard {
  private bodyLeft = 0
  private header: number[] = []

  constructor (private readonly maxBytes: number) {}

  /** Returns the announced size of the first oversized packet in the chunk, or -1. */
  inspect (chunk: Buffer): number {
    let i = 0
    while (i < chunk.length) {
      if (this.bodyLeft > 0) {
        const n = Math.min(this.bodyLeft, chunk.length - i)
        this.bodyLeft -= n
        i += n
        continue
      }
      const byte = chunk[i++] as number
      this.header.push(byte)
      // byte 0 is the packet type; then 1 to 4 length bytes, each with a continuation bit
      if (this.header.length === 1 || ((byte & 0x80) !== 0 && this.header.length < 5)) continue
      const length = this.remainingLength()
      this.header = []
      if (length > this.maxBytes) return length
      this.bodyLeft = length
    }
    return -1
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

/**
 * aedes pulls bytes with conn.read(); wrapping that one method inspects every chunk without an
 * extra stream in the path.
 */
export function guardPacketSize (conn: Duplex, maxBytes: number, onOversized: (bytes: number) => void): Duplex {
  const guard = new PacketSizeGuard(maxBytes)
  const read = conn.read.bind(conn)
  conn.read = (size?: number) => {
    const chunk: unknown = read(size)
    if (Buffer.isBuffer(chunk)) {
      const oversized = guard.inspect(chunk)
      if (oversized >= 0) {
        onOversized(oversized)
        conn.destroy()
        return null
      }
    }
    return chunk
  }
  return conn
}
