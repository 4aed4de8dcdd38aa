import net from 'node:net'
import mqttPacket, { type Packet } from 'mqtt-packet'
import { encodeFixBatch } from '../../proto/codec.js'
import { Histogram } from './percentiles.js'
import { loadRoute, positionOf } from './routes.js'
import type { FleetCommand, FleetReport, RunPlan } from './fleet-protocol.js'

/**
 * Simulated trackers in a process of their own, so their CPU is measured apart from the server's.
 * Each is a bare MQTT 3.1.1 client (mqtt-packet over a socket): no stores, no timers per client,
 * so thousands cost little. Open loop: each device publishes at its rate whatever the server does,
 * but never has more than `window` QoS1 messages unacknowledged, as a real client's inflight
 * limit; a publish that finds the window full is counted as held back.
 */
interface Device {
  id: string
  topic: Buffer
  scanTopic: Buffer
  /** EPCs a reader sees, in turn */
  tags: string[]
  index: number
  socket: net.Socket
  parser: ReturnType<typeof mqttPacket.parser>
  nextMessageId: number
  inflight: Map<number, { sentAt: number, fixes: number }>
  step: number
  connected: boolean
}

const route = loadRoute()
const devices: Device[] = []
let ackLatency = new Histogram()
let acked = 0
let ackedFixes = 0

function send (message: FleetReport): void {
  process.send?.(message)
}

async function connectAll (host: string, port: number, ids: string[], secret: string, offset: number, tags: string[][] = []): Promise<void> {
  let failed = 0
  const batch = 200
  for (let i = 0; i < ids.length; i += batch) {
    const results = await Promise.allSettled(ids.slice(i, i + batch).map(async (id, j) => {
      devices.push(await connect(host, port, id, secret, offset + i + j, tags[i + j] ?? []))
    }))
    failed += results.filter((r) => r.status === 'rejected').length
  }
  send({ type: 'connected', count: devices.length, failed })
}

async function connect (host: string, port: number, id: string, secret: string, index: number, tags: string[]): Promise<Device> {
  return await new Promise((resolve, reject) => {
    const socket = net.connect(port, host)
    socket.setNoDelay(true)
    const parser = mqttPacket.parser()
    const device: Device = { id, topic: Buffer.from(`ts/v1/${id}/fix`), scanTopic: Buffer.from(`ts/v1/${id}/scan`), tags, index, socket, parser, nextMessageId: 1, inflight: new Map(), step: 0, connected: false }
    parser.on('packet', (packet: Packet) => {
      if (packet.cmd === 'connack') {
        if (packet.returnCode !== 0) { reject(new Error(`${id}: CONNACK ${packet.returnCode}`)); return }
        device.connected = true
        resolve(device)
      } else if (packet.cmd === 'puback') {
        const sent = device.inflight.get(packet.messageId ?? 0)
        if (sent === undefined) return
        device.inflight.delete(packet.messageId ?? 0)
        ackLatency.record(Date.now() - sent.sentAt)
        acked++
        ackedFixes += sent.fixes
      }
    })
    socket.on('data', (chunk) => { parser.parse(chunk) })
    socket.on('error', (error) => { if (!device.connected) reject(error) })
    socket.on('close', () => { device.connected = false })
    socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: id, keepalive: 0, username: id, password: Buffer.from(secret) }))
  })
}

/** One tag in range of the reader, reported `reads` times a few milliseconds apart, as readers do. */
function scanPayloadOf (device: Device, reads: number, now: number): Buffer {
  const epc = device.tags[device.step++ % Math.max(1, device.tags.length)] ?? 'E2000000000000000000DEAD'
  const scans = Array.from({ length: reads }, (_, k) => `{"epc":"${epc}","antenna":1,"rssi":${-50 - k},"time":${now - (reads - 1 - k) * 3}}`)
  return Buffer.from(`[${scans.join(',')}]`)
}

function payloadOf (device: Device, plan: RunPlan, now: number): Buffer {
  if (plan.kind === 'scan') return scanPayloadOf(device, plan.fixesPerMessage, now)
  const fixes = Array.from({ length: plan.fixesPerMessage }, (_, k) => {
    const { lat, lon } = positionOf(route, device.index, device.step++)
    // time is the publish time: viewers measure publish → frame latency from it
    return { time: now - (plan.fixesPerMessage - 1 - k), lat, lon, speed: 12.5, heading: 90, seq: device.step }
  })
  if (plan.format === 'protobuf') return Buffer.from(encodeFixBatch(fixes))
  const json = fixes.map((f) => `{"time":${f.time},"lat":${f.lat},"lon":${f.lon},"speed":12.5,"heading":90,"seq":${f.seq}}`)
  return Buffer.from(plan.fixesPerMessage === 1 ? json[0] as string : `[${json.join(',')}]`)
}

/** An MQTT 3.1.1 PUBLISH, laid out by hand: the generator must cost little next to the server. */
function publishPacket (topic: Buffer, payload: Buffer, qos: 0 | 1, messageId: number): Buffer {
  const remaining = 2 + topic.length + (qos === 1 ? 2 : 0) + payload.length
  const lengthBytes = remaining < 128 ? 1 : remaining < 16384 ? 2 : remaining < 2097152 ? 3 : 4
  const packet = Buffer.allocUnsafe(1 + lengthBytes + remaining)
  packet[0] = 0x30 | (qos << 1)
  let offset = 1
  let left = remaining
  do {
    let byte = left % 128
    left = Math.floor(left / 128)
    if (left > 0) byte |= 0x80
    packet[offset++] = byte
  } while (left > 0)
  packet.writeUInt16BE(topic.length, offset)
  offset += 2 + topic.copy(packet, offset + 2)
  if (qos === 1) {
    packet.writeUInt16BE(messageId, offset)
    offset += 2
  }
  payload.copy(packet, offset)
  return packet
}

async function run (plan: RunPlan): Promise<void> {
  ackLatency = new Histogram()
  acked = 0
  ackedFixes = 0
  let sent = 0
  let sentFixes = 0
  let heldBack = 0
  const tickMs = 5
  const periodMs = 1000 / plan.hz
  const slots = Math.max(1, Math.round(periodMs / tickMs))
  const start = Date.now()
  let tick = 0
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = Date.now()
      // catch up on ticks the event loop missed, so a busy machine still offers the planned rate
      const due = Math.floor((now - start) / tickMs)
      for (; tick <= due; tick++) {
        const slot = tick % slots
        for (let i = slot; i < devices.length; i += slots) {
          const device = devices[i] as Device
          if (!device.connected) continue
          if (plan.qos === 1 && device.inflight.size >= plan.window) { heldBack++; continue }
          const messageId = device.nextMessageId
          device.nextMessageId = messageId === 65535 ? 1 : messageId + 1
          const payload = payloadOf(device, plan, now)
          if (plan.qos === 1) device.inflight.set(messageId, { sentAt: now, fixes: plan.fixesPerMessage })
          device.socket.write(publishPacket(plan.kind === 'scan' ? device.scanTopic : device.topic, payload, plan.qos, messageId))
          sent++
          sentFixes += plan.fixesPerMessage
        }
      }
      if (now - start >= plan.durationMs) {
        clearInterval(timer)
        resolve()
      }
    }, tickMs)
    const progress = setInterval(() => {
      send({ type: 'progress', sent, sentFixes, acked, ackedFixes, heldBack })
      if (Date.now() - start >= plan.durationMs) clearInterval(progress)
    }, 1000)
  })
  // let the last acknowledgements arrive
  const deadline = Date.now() + plan.drainMs
  while (Date.now() < deadline && devices.some((d) => d.inflight.size > 0)) await new Promise((r) => setTimeout(r, 50))
  const unacked = devices.reduce((n, d) => n + d.inflight.size, 0)
  send({ type: 'done', sent, sentFixes, acked, ackedFixes, heldBack, unacked, ackLatency: ackLatency.toJSON() })
}

process.on('message', (command: FleetCommand) => {
  if (command.type === 'connect') void connectAll(command.host, command.port, command.ids, command.secret, command.offset, command.tags)
  else if (command.type === 'run') void run(command.plan)
  else if (command.type === 'close') {
    for (const device of devices) device.socket.destroy()
    process.exit(0)
  }
})
