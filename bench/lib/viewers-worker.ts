import WebSocket from 'ws'
import { Histogram } from './percentiles.js'
import type { ViewerCommand, ViewerReport } from './viewers-protocol.js'

/**
 * WebSocket viewers in a process of their own: ops maps on /ws/live with a viewport each, or
 * buyers' pages on /ws/track/<token>. Latency is the receive time minus the time the item carries:
 * a fix's time (the generator stamps the publish time) or a milestone's time (the scan's).
 */
const sockets: WebSocket[] = []
let latency = new Histogram()
let frames = 0
let items = 0

function send (message: ViewerReport): void {
  process.send?.(message)
}

function listen (socket: WebSocket): void {
  socket.on('message', (data) => {
    const now = Date.now()
    const frame = JSON.parse(data.toString()) as { type: string, positions?: Array<{ time: number }>, milestones?: Array<{ time: string }> }
    if (frame.type === 'positions') {
      frames++
      for (const position of frame.positions ?? []) { latency.record(now - position.time); items++ }
    } else if (frame.type === 'milestones') {
      frames++
      for (const milestone of frame.milestones ?? []) { latency.record(now - Date.parse(milestone.time)); items++ }
    }
  })
}

async function open (url: string, headers: Record<string, string>, viewport: unknown): Promise<void> {
  const socket = new WebSocket(url, { headers, perMessageDeflate: false })
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => { resolve() })
    socket.once('error', reject)
  })
  if (viewport !== undefined) socket.send(JSON.stringify({ type: 'viewport', bbox: viewport }))
  listen(socket)
  sockets.push(socket)
}

process.on('message', (command: ViewerCommand) => {
  if (command.type === 'open') {
    void (async () => {
      let failed = 0
      for (let i = 0; i < command.urls.length; i += 100) {
        const results = await Promise.allSettled(command.urls.slice(i, i + 100).map(async (url, j) =>
          await open(url, command.headers, command.viewports?.[i + j])))
        failed += results.filter((r) => r.status === 'rejected').length
      }
      send({ type: 'opened', count: sockets.length, failed })
    })()
  } else if (command.type === 'reset') {
    latency = new Histogram()
    frames = 0
    items = 0
    send({ type: 'reset' })
  } else if (command.type === 'report') {
    send({ type: 'report', latency: latency.toJSON(), frames, items })
  } else {
    for (const socket of sockets) socket.terminate()
    process.exit(0)
  }
})
