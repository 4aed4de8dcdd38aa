import net from 'node:net'
import tls from 'node:tls'
import mqttPacket, { type IConnackPacket, type IPublishPacket, type ISubackPacket, type Packet } from 'mqtt-packet'

export interface UpstreamOptions {
  /** mqtt://user:password@host:port or mqtts://…; the credentials are the processor's own. */
  url: string
  /** Stable across restarts: the broker keeps this processor's unacknowledged share under it. */
  clientId: string
  /** `$share/<group>/…` subscriptions when set; plain ones (one processor only) when null. */
  shareGroup: string | null
  filters: readonly string[]
  protocolVersion: 4 | 5
  /** How long the broker keeps the session (and what it holds for us) after we are gone. */
  sessionExpirySeconds: number
  /** QoS 1 messages the broker may have in flight to us at once: the back-pressure. */
  receiveMaximum: number
  keepaliveSeconds: number
  /** Resolves once the message is durable; only then is it acknowledged. A rejection reconnects. */
  onMessage: (topic: string, payload: Buffer) => Promise<void>
  log: { info: (obj: object, msg: string) => void, warn: (obj: object, msg: string) => void }
  reconnectMs?: { min: number, max: number }
}

interface Held {
  messageId: number
  settled: boolean
}

/**
 * A subscriber to an existing broker (Mosquitto, EMQX, HiveMQ, …) that acknowledges each QoS 1
 * message only once it is committed, and in the order the messages came (MQTT 5 §4.6). mqtt.js
 * cannot: it handles the next packet only after the previous one's PUBACK, which would make every
 * message its own commit. This is the small part of a client that trackstream needs, on
 * mqtt-packet, the parser and serializer mqtt.js and aedes use.
 *
 * The session is persistent (clean start off, a session expiry), so what the broker handed over
 * and we never acknowledged is sent again when this client id comes back, here or after a restart.
 */
export class UpstreamSubscriber {
  private socket: net.Socket | undefined
  /** This connection's unacknowledged QoS 1 messages, oldest first. */
  private held: Held[] = []
  private inflight = 0
  private readonly onSettled = new Set<() => void>()
  private stopped = false
  private retryMs: number
  private retryTimer: NodeJS.Timeout | undefined
  private pingTimer: NodeJS.Timeout | undefined
  private subscribed = false
  private lastPingAnswered = true
  readonly counts = { received: 0, acknowledged: 0, failed: 0, connects: 0 }

  constructor (private readonly options: UpstreamOptions) {
    this.retryMs = options.reconnectMs?.min ?? 200
  }

  /** Connected, subscribed and taking messages. */
  get ready (): boolean {
    return this.subscribed && this.socket !== undefined && !this.socket.destroyed
  }

  start (): void {
    this.stopped = false
    this.connect()
  }

  /** Resolves once subscribed (or rejects after timeoutMs), for start-up and tests. */
  async whenReady (timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!this.ready) {
      if (Date.now() > deadline) throw new Error(`not subscribed to ${redacted(this.options.url)} after ${timeoutMs} ms`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  /** Stops taking messages, waits for the held ones to commit and be acknowledged, then disconnects. */
  async close (drainTimeoutMs = 10_000): Promise<void> {
    this.stopped = true
    clearTimeout(this.retryTimer)
    this.socket?.pause()
    await Promise.race([this.settled(), new Promise((resolve) => setTimeout(resolve, drainTimeoutMs).unref())])
    const socket = this.socket
    if (socket === undefined || socket.destroyed) return
    // DISCONNECT without a session expiry change: the broker keeps the session for the next start
    await new Promise<void>((resolve) => {
      socket.once('close', () => { resolve() })
      socket.end(mqttPacket.generate({ cmd: 'disconnect', reasonCode: 0 } as Packet, this.packetOptions))
      setTimeout(() => { socket.destroy() }, 2000).unref()
    })
  }

  private get packetOptions (): { protocolVersion: 4 | 5 } {
    return { protocolVersion: this.options.protocolVersion }
  }

  private connect (): void {
    const url = new URL(this.options.url)
    const secure = url.protocol === 'mqtts:'
    const port = url.port === '' ? (secure ? 8883 : 1883) : Number(url.port)
    const socket = secure
      ? tls.connect({ host: url.hostname, port, servername: url.hostname })
      : net.connect({ host: url.hostname, port })
    socket.setNoDelay(true)
    this.socket = socket
    this.held = []
    this.subscribed = false
    const parser = mqttPacket.parser(this.packetOptions)
    parser.on('packet', (packet: Packet) => { this.receive(socket, packet) })
    parser.on('error', (error: Error) => { this.drop(socket, `unparseable packet: ${error.message}`) })
    socket.on(secure ? 'secureConnect' : 'connect', () => { this.write(socket, this.connectPacket(url)) })
    socket.on('data', (chunk: Buffer) => { parser.parse(chunk) })
    socket.on('error', (error) => { this.options.log.warn({ broker: redacted(this.options.url), reason: error.message }, 'upstream MQTT connection failed') })
    socket.on('close', () => { this.closed(socket) })
  }

  private connectPacket (url: URL): Packet {
    const username = url.username === '' ? undefined : decodeURIComponent(url.username)
    const password = url.password === '' ? undefined : Buffer.from(decodeURIComponent(url.password))
    return {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: this.options.protocolVersion,
      clientId: this.options.clientId,
      clean: false,
      keepalive: this.options.keepaliveSeconds,
      ...(username === undefined ? {} : { username }),
      ...(password === undefined ? {} : { password }),
      ...(this.options.protocolVersion === 5
        ? { properties: { sessionExpiryInterval: this.options.sessionExpirySeconds, receiveMaximum: this.options.receiveMaximum } }
        : {})
    }
  }

  private receive (socket: net.Socket, packet: Packet): void {
    // any packet shows the broker is there: under a backlog the PINGRESP waits behind thousands of
    // PUBLISHes, and a broker busy sending them must not be taken for a dead one (each drop makes
    // it send the whole window again)
    this.lastPingAnswered = true
    switch (packet.cmd) {
      case 'connack': this.connacked(socket, packet); break
      case 'suback': this.subacked(socket, packet); break
      case 'publish': this.published(socket, packet); break
      case 'disconnect': this.drop(socket, `the broker disconnected (reason ${packet.reasonCode ?? 0})`); break
      default: break
    }
  }

  private connacked (socket: net.Socket, packet: IConnackPacket): void {
    const code = packet.reasonCode ?? packet.returnCode ?? 0
    if (code !== 0) {
      this.drop(socket, `the broker refused the connection (CONNACK ${code}): check the credentials in MQTT_URL and the client id's rights`)
      return
    }
    this.counts.connects++
    this.retryMs = this.options.reconnectMs?.min ?? 200
    this.startPinging(socket)
    const prefix = this.options.shareGroup === null ? '' : `$share/${this.options.shareGroup}/`
    this.write(socket, {
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: this.options.filters.map((filter) => ({ topic: prefix + filter, qos: 1 as const }))
    })
  }

  private subacked (socket: net.Socket, packet: ISubackPacket): void {
    // v5 answers reason codes, 3.1.1 the granted QoS or 0x80: either way 0x80 and above is a refusal
    const refused = (packet.granted as unknown[]).map((code, i) => ({ code: typeof code === 'number' ? code : 0x80, filter: this.options.filters[i] }))
      .filter(({ code }) => code >= 0x80)
    if (refused.length > 0) {
      const which = `the broker refused the subscriptions ${refused.map((r) => `${r.filter} (${r.code})`).join(', ')}: check the ACL of this client`
      // with none granted there is nothing to process: try again, saying so each time
      if (refused.length === this.options.filters.length) {
        this.drop(socket, which)
        return
      }
      this.options.log.warn({ broker: redacted(this.options.url), clientId: this.options.clientId }, which)
    }
    this.subscribed = true
    this.options.log.info({ broker: redacted(this.options.url), clientId: this.options.clientId, group: this.options.shareGroup }, 'subscribed to the upstream MQTT broker')
  }

  private published (socket: net.Socket, packet: IPublishPacket): void {
    this.counts.received++
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload
    const entry: Held | undefined = packet.qos > 0 && packet.messageId !== undefined ? { messageId: packet.messageId, settled: false } : undefined
    if (entry !== undefined) this.held.push(entry)
    this.inflight++
    const held = this.held
    this.options.onMessage(packet.topic, payload).then(() => {
      if (entry === undefined || held !== this.held) return
      entry.settled = true
      this.acknowledgeInOrder(socket)
    }, (error: Error) => {
      this.counts.failed++
      // not acknowledged: the broker sends it again on the next connection of this session
      this.drop(socket, `a message could not be stored (${error.message}); reconnecting so the broker sends it again`)
    }).finally(() => {
      this.inflight--
      if (this.inflight === 0) for (const wake of this.onSettled) wake()
    })
  }

  private acknowledgeInOrder (socket: net.Socket): void {
    let n = 0
    while (n < this.held.length && this.held[n]?.settled === true) {
      const { messageId } = this.held[n] as Held
      this.write(socket, { cmd: 'puback', messageId, ...(this.options.protocolVersion === 5 ? { reasonCode: 0 } : {}) })
      n++
    }
    if (n > 0) {
      this.held.splice(0, n)
      this.counts.acknowledged += n
    }
  }

  private startPinging (socket: net.Socket): void {
    clearInterval(this.pingTimer)
    this.lastPingAnswered = true
    const everyMs = Math.max(1, this.options.keepaliveSeconds) * 500
    this.pingTimer = setInterval(() => {
      if (!this.lastPingAnswered) {
        this.drop(socket, 'the broker stopped answering pings')
        return
      }
      this.lastPingAnswered = false
      this.write(socket, { cmd: 'pingreq' })
    }, everyMs)
    this.pingTimer.unref()
  }

  private write (socket: net.Socket, packet: Packet): void {
    if (socket.destroyed) return
    let bytes: Buffer
    try {
      bytes = mqttPacket.generate(packet, this.packetOptions)
    } catch (error) {
      this.drop(socket, `could not write ${packet.cmd}: ${(error as Error).message}`)
      return
    }
    socket.write(bytes)
  }

  private drop (socket: net.Socket, reason: string): void {
    if (socket.destroyed) return
    this.options.log.warn({ broker: redacted(this.options.url), reason }, 'upstream MQTT connection dropped')
    socket.destroy()
  }

  private closed (socket: net.Socket): void {
    if (socket !== this.socket) return
    clearInterval(this.pingTimer)
    this.subscribed = false
    // what this connection held can no longer be acknowledged on it: the broker resends it
    this.held = []
    if (this.stopped) return
    const delay = this.retryMs
    this.retryMs = Math.min(this.retryMs * 2, this.options.reconnectMs?.max ?? 5000)
    this.retryTimer = setTimeout(() => { this.connect() }, delay)
    this.retryTimer.unref()
  }

  private async settled (): Promise<void> {
    while (this.inflight > 0) {
      await new Promise<void>((resolve) => {
        const wake = (): void => { this.onSettled.delete(wake); resolve() }
        this.onSettled.add(wake)
      })
    }
  }
}

/** The broker URL without its password, for logs. */
export function redacted (url: string): string {
  const parsed = new URL(url)
  if (parsed.password !== '') parsed.password = '***'
  return parsed.toString()
}
