import { WebSocketServer, type WebSocket } from 'ws'

/**
 * Baseline: a bare ws server that makes up `rate` positions a second and broadcasts what it made
 * each tick to every client: WebSocket fan-out with nothing before it. argv: port rate tickMs
 */
const [port, rate, tickMs] = process.argv.slice(2).map(Number) as [number, number, number]
const server = new WebSocketServer({ port, host: '127.0.0.1', perMessageDeflate: false })
const clients = new Set<WebSocket>()
server.on('connection', (socket) => {
  clients.add(socket)
  socket.on('close', () => { clients.delete(socket) })
})
let pending: Array<{ deviceId: string, lat: number, lon: number, time: number }> = []
let made = 0
const start = Date.now()
setInterval(() => {
  const due = Math.floor((Date.now() - start) * rate / 1000)
  for (; made < due; made++) pending.push({ deviceId: `d${made % 10000}`, lat: 45.27, lon: 13.71, time: Date.now() })
}, 5)
setInterval(() => {
  if (pending.length === 0) return
  // like the hub's viewport filtering: each client gets its share, here 1 in 100 positions
  const frame = JSON.stringify({ type: 'positions', positions: pending.filter((_, i) => i % 100 === 0) })
  pending = []
  for (const client of clients) client.send(frame)
}, tickMs)
server.on('listening', () => { console.log(`ws broadcast listening on ${port}`) })
