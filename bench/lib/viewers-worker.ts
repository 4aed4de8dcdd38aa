import WebSocket from 'ws'
import { decodeLiveFrame } from '../../proto/live-codec.js'
import { Histogram } from './percentiles.js'
import type { ViewerCommand, ViewerCounts, ViewerReport } from './viewers-protocol.js'

/**
 * WebSocket viewers in a process of their own: ops maps on /ws/live with a viewport each, or
 * buyers' pages on /ws/track/<token>. Latency is the receive time minus the time the item carries:
 * a fix's time (the generator stamps the publish time) or a milestone's time (the scan's).
 *
 * Viewers that do not decode (see ViewerCommand.decode) tell a frame's kind from its first bytes:
 * the hub's JSON starts with {"type":"…", a binary snapshot with kind = 1 (bytes 0x08 0x01). They
 * stand in for browsers on other machines, so that one process can take a thousand of them without
 * becoming the bottleneck.
 */
const sockets: WebSocket[] = []
let latency = new Histogram()
let counts: ViewerCounts = zero()
/** snapshots each socket is still owed that are not resyncs: the one on connecting, and its viewport's */
const expectedSnapshots = new WeakMap<WebSocket, number>()

function zero (): ViewerCounts {
  return { frames: 0, items: 0, bytes: 0, wireBytes: 0, snapshots: 0, snapshotBytes: 0 }
}

function send (message: ViewerReport): void {
  process.send?.(message)
}

/** RFC 6455: 2 header bytes, plus 2 or 8 for the longer lengths; a server's frames are not masked. */
function headerBytes (length: number): number {
  return length < 126 ? 2 : length < 65536 ? 4 : 10
}

type Kind = 'positions' | 'milestones' | 'snapshot' | 'other'

function kindOf (data: Buffer, binary: boolean): Kind {
  if (binary) return data[0] === 0x08 && data[1] === 0x01 ? 'snapshot' : 'positions'
  // {"type":"p… / "m… / "s…
  const c = data[9]
  return c === 0x70 ? 'positions' : c === 0x6d ? 'milestones' : c === 0x73 ? 'snapshot' : 'other'
}

function record (data: Buffer, binary: boolean): void {
  const now = Date.now()
  if (binary) {
    for (const position of decodeLiveFrame(data).positions) { latency.record(now - position.time); counts.items++ }
    return
  }
  const frame = JSON.parse(data.toString()) as { positions?: Array<{ time: number }>, milestones?: Array<{ time: string }> }
  for (const position of frame.positions ?? []) { latency.record(now - position.time); counts.items++ }
  for (const milestone of frame.milestones ?? []) { latency.record(now - Date.parse(milestone.time)); counts.items++ }
}

function listen (socket: WebSocket, decode: boolean): void {
  socket.on('message', (data: Buffer, binary) => {
    const kind = kindOf(data, binary)
    if (kind === 'snapshot') {
      const owed = expectedSnapshots.get(socket) ?? 0
      if (owed > 0) expectedSnapshots.set(socket, owed - 1)
      else { counts.snapshots++; counts.snapshotBytes += data.length }
      return
    }
    if (kind === 'other') return
    counts.frames++
    counts.bytes += data.length
    counts.wireBytes += data.length + headerBytes(data.length)
    if (decode) record(data, binary)
  })
}

async function open (url: string, headers: Record<string, string>, viewport: unknown, format: 'json' | 'protobuf' | undefined, decode: boolean): Promise<void> {
  const socket = new WebSocket(url, { headers, perMessageDeflate: false })
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => { resolve() })
    socket.once('error', reject)
  })
  listen(socket, decode)
  expectedSnapshots.set(socket, viewport === undefined ? 1 : 2)
  if (viewport !== undefined) {
    socket.send(JSON.stringify(format === undefined ? { type: 'viewport', bbox: viewport } : { type: 'viewport', bbox: viewport, format }))
  }
  sockets.push(socket)
}

process.on('message', (command: ViewerCommand) => {
  if (command.type === 'open') {
    void (async () => {
      let failed = 0
      for (let i = 0; i < command.urls.length; i += 100) {
        const results = await Promise.allSettled(command.urls.slice(i, i + 100).map(async (url, j) =>
          await open(url, command.headers, command.viewports?.[i + j], command.format, command.decode?.[i + j] ?? true)))
        failed += results.filter((r) => r.status === 'rejected').length
      }
      send({ type: 'opened', count: sockets.length, failed })
    })()
  } else if (command.type === 'reset') {
    latency = new Histogram()
    counts = zero()
    send({ type: 'reset' })
  } else if (command.type === 'report') {
    send({ type: 'report', latency: latency.toJSON(), ...counts })
  } else {
    for (const socket of sockets) socket.terminate()
    process.exit(0)
  }
})
