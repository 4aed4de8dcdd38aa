import net from 'node:net'
import tls from 'node:tls'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { Aedes, type AedesOptions, type AuthenticateError, type Client, type PublishPacket, type Subscription } from 'aedes'
import { decodeMessage } from './decode-message.js'
import type { ConnectionFlow, InflightBudget } from './flow-control.js'
import type { Ingest, IngestMessage } from './ingest-message.js'
import { guardPacketSize } from './packet-size-guard.js'
import { REJECT_REASONS, type RejectReason } from './rejects.js'
import { maySubscribe, mayPublish, routeOf, type RoutableDevice, type Route } from './routing.js'
import { verifySecret } from './secrets.js'

export interface GatewayDevice extends RoutableDevice {
  secretHash: string
  disabled: boolean
}

export interface GatewayOptions {
  findDevice: (deviceId: string) => GatewayDevice | undefined
  /** Resolves once the message is durable; only then is a QoS1 PUBACK sent. */
  ingest: Ingest
  /** Refusals the pipeline never sees: connection, ACL and size. deviceId is null when unknown. */
  onRefused: (deviceId: string | null, reason: RejectReason, address: string | null) => void
  maxMessageBytes: number
  /** Messages read and not yet answered, per device and overall: the devices' back-pressure. */
  budget: InflightBudget
  log: { warn: (obj: object, msg: string) => void, debug: (obj: object, msg: string) => void }
  /** Scale-out seams: aedes-persistence-redis and mqemitter-redis fit here. In memory by default. */
  persistence?: AedesOptions['persistence']
  mq?: AedesOptions['mq']
  now?: () => number
}

const IDENTIFIER_REJECTED = 2
const BAD_USERNAME_OR_PASSWORD = 4
const NOT_AUTHORIZED = 5

/**
 * The embedded MQTT broker. Devices log in with their device id as username and their secret as
 * password, and may publish and subscribe only in their own topic tree (gateway/routing.ts).
 *
 * Ingest happens in authorizePublish, the one hook aedes runs before it writes the QoS1 PUBACK
 * (lib/handlers/publish.js). The callback fires only after the group commit holding the message
 * has committed, so an acknowledged message is always in the database. The packets of one socket
 * read are dispatched together and join the same commit. aedes alone would read on while they
 * wait (each 'readable' lets it), so the in-flight budget (flow-control.ts) is what stops it:
 * past the budget, a device's socket is not read, and TCP pushes back.
 *
 * Sessions belong to devices. aedes keys a session by client id; here the id a device sends is
 * kept inside its own namespace (`<deviceId>/<client id>`), so no client id, whatever it is,
 * can resume, take over or disconnect another device's session. A client id that is exactly
 * another registered device's id is refused outright (CONNACK 2, identifier rejected).
 */
export class Gateway {
  readonly broker: Aedes
  private readonly deviceOf = new WeakMap<Client, string>()
  private readonly flows = new WeakMap<Duplex, ConnectionFlow>()
  /** Clients that sent an empty client id: MQTT lets the server name them, for clean sessions only. */
  private readonly unnamed = new WeakSet<Client>()
  private readonly connections = new Map<string, Set<Client>>()
  /** Publishes received and not yet answered: their PUBACK (or refusal) is still to be written. */
  private inflight = 0
  private readonly onSettled = new Set<() => void>()
  private tcp: net.Server | undefined
  private tls: tls.Server | undefined
  private readonly now: () => number

  private constructor (private readonly options: GatewayOptions, broker: Aedes) {
    this.broker = broker
    this.now = options.now ?? Date.now
  }

  static async create (options: GatewayOptions): Promise<Gateway> {
    let gateway: Gateway | undefined
    const broker = await Aedes.createBroker({
      persistence: options.persistence,
      mq: options.mq,
      preConnect: (client, packet, done) => {
        if (packet.clientId === '') gateway?.unnamed.add(client)
        done(null, true)
      },
      authenticate: (client, username, password, done) => { gateway?.authenticate(client, username, password, done) },
      authorizePublish: (client, packet, done) => { gateway?.authorizePublish(client, packet, done) },
      authorizeSubscribe: (client, subscription, done) => { gateway?.authorizeSubscribe(client, subscription, done) }
    })
    const created = new Gateway(options, broker)
    gateway = created
    broker.on('clientReady', (client) => { created.track(client) })
    broker.on('clientDisconnect', (client) => { created.untrack(client) })
    broker.on('clientError', (client, error) => {
      options.log.debug({ device: created.deviceOf.get(client), err: error.message }, 'MQTT client error')
    })
    return created
  }

  /** Serves one connection: a TCP socket, or a WebSocket stream from /mqtt. */
  handle (conn: Duplex, request?: IncomingMessage): void {
    const address = request?.socket.remoteAddress ?? (conn as net.Socket).remoteAddress ?? null
    const flow = this.options.budget.open()
    this.flows.set(conn, flow)
    conn.once('close', () => { flow.close() })
    guardPacketSize(conn, this.options.maxMessageBytes, (bytes) => {
      this.options.onRefused(null, 'message_too_large', address)
      this.options.log.warn({ address, bytes, limit: this.options.maxMessageBytes }, 'closed an MQTT connection that sent a packet over MAX_MESSAGE_BYTES')
    }, flow)
    this.broker.handle(conn, request)
  }

  async listen (port: number, host: string): Promise<net.AddressInfo> {
    const server = net.createServer((socket) => { this.handle(socket) })
    this.tcp = server
    this.keepServing(server)
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => { server.off('error', reject); resolve() })
    })
    return server.address() as net.AddressInfo
  }

  /** MQTT over TLS, for a configured certificate. */
  async listenTls (port: number, host: string, credentials: { cert: Buffer, key: Buffer }): Promise<net.AddressInfo> {
    const server = tls.createServer(credentials, (socket) => { this.handle(socket) })
    // a client that fails the handshake never reaches the broker; it must not reach the process either
    server.on('tlsClientError', (error) => { this.options.log.debug({ reason: error.message }, 'TLS handshake failed') })
    this.tls = server
    this.keepServing(server)
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => { server.off('error', reject); resolve() })
    })
    return server.address() as net.AddressInfo
  }

  /**
   * A listening server emits 'error' when accepting fails (EMFILE when a flood of connections
   * meets the open-file limit): logged, and it goes on accepting once descriptors free up.
   */
  private keepServing (server: net.Server): void {
    server.on('listening', () => {
      server.on('error', (error) => { this.options.log.warn({ reason: error.message }, 'MQTT listener could not accept a connection') })
    })
  }

  /** Stops taking new connections; connected devices carry on. */
  stopAccepting (): void {
    // close() alone: its callback waits for every device to hang up, which close() below brings about
    for (const server of [this.tcp, this.tls]) if (server?.listening === true) server.close()
  }

  /** Disconnects every device, TCP and WebSocket alike, after what was written to them has left. */
  async close (): Promise<void> {
    this.stopAccepting()
    await this.flushWrites()
    await new Promise<void>((resolve) => { this.broker.close(() => { resolve() }) })
  }

  /**
   * mqtt-packet corks the socket and uncorks on the next tick, and aedes ends a client with
   * destroy(), which drops whatever is still buffered: a PUBACK written just now would be lost.
   */
  private async flushWrites (timeoutMs = 2000): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve))
    const pending = [...this.connections.values()].flatMap((clients) => [...clients])
      .map((client) => client.conn)
      .filter((conn) => conn.writableLength > 0 && !conn.destroyed)
      .map(async (conn) => await new Promise((resolve) => { conn.once('drain', resolve); conn.once('close', resolve) }))
    if (pending.length === 0) return
    await Promise.race([Promise.all(pending), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())])
  }

  /** The TCP port devices connect to, once listening. */
  get port (): number | undefined {
    const address = this.tcp?.address()
    return typeof address === 'object' && address !== null ? address.port : undefined
  }

  get tlsPort (): number | undefined {
    const address = this.tls?.address()
    return typeof address === 'object' && address !== null ? address.port : undefined
  }

  /** Listening for devices and not shutting down. */
  get accepting (): boolean {
    return this.tcp?.listening === true && !this.broker.closed
  }

  isConnected (deviceId: string): boolean {
    return this.connections.has(deviceId)
  }

  /** Drops every connection of a device, e.g. after its secret is rotated or it is disabled. */
  disconnect (deviceId: string): void {
    for (const client of this.connections.get(deviceId) ?? []) client.close()
  }

  private track (client: Client): void {
    const deviceId = this.deviceOf.get(client)
    if (deviceId === undefined) return
    const clients = this.connections.get(deviceId) ?? new Set()
    clients.add(client)
    this.connections.set(deviceId, clients)
  }

  private untrack (client: Client): void {
    const deviceId = this.deviceOf.get(client)
    const clients = deviceId === undefined ? undefined : this.connections.get(deviceId)
    if (deviceId === undefined || clients === undefined) return
    clients.delete(client)
    if (clients.size === 0) this.connections.delete(deviceId)
  }

  private authenticate (
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (error: AuthenticateError | null, success: boolean | null) => void
  ): void {
    const address = remoteAddress(client)
    const refuse = (deviceId: string | null, reason: RejectReason, returnCode: number): void => {
      this.options.onRefused(deviceId, reason, address)
      const error = Object.assign(new Error(REJECT_REASONS[reason]), { returnCode }) as AuthenticateError
      done(error, false)
    }
    if (username === undefined || username === '' || password === undefined) {
      refuse(null, 'missing_credentials', BAD_USERNAME_OR_PASSWORD)
      return
    }
    const device = this.options.findDevice(username)
    if (device === undefined) {
      refuse(username, 'unknown_device', BAD_USERNAME_OR_PASSWORD)
      return
    }
    if (!verifySecret(password.toString('utf8'), device.secretHash)) {
      refuse(username, 'bad_secret', BAD_USERNAME_OR_PASSWORD)
      return
    }
    if (device.disabled) {
      refuse(username, 'device_disabled', NOT_AUTHORIZED)
      return
    }
    const unnamed = this.unnamed.has(client)
    if (unnamed && !client.clean) {
      refuse(username, 'client_id_not_own', IDENTIFIER_REJECTED)
      return
    }
    if (!unnamed && client.id !== username && this.options.findDevice(client.id) !== undefined) {
      refuse(username, 'client_id_not_own', IDENTIFIER_REJECTED)
      return
    }
    this.deviceOf.set(client, username)
    this.flows.get(client.conn)?.attach(username)
    // aedes has set client.id from the CONNECT; it keys the session (takeover, persistence) by it
    client.id = `${username}/${client.id}`
    done(null, true)
  }

  private authorizePublish (client: Client | null, packet: PublishPacket, done: (error?: Error | null) => void): void {
    // client is null only for a will left by a client that is gone: devices publish no wills we keep
    const deviceId = client === null ? undefined : this.deviceOf.get(client)
    const device = deviceId === undefined ? undefined : this.options.findDevice(deviceId)
    if (client === null || deviceId === undefined || device === undefined) {
      done(new Error('not authenticated'))
      return
    }
    const route = routeOf(packet.topic)
    if (route === null || !mayPublish(device, route)) {
      // MQTT 3.1.1 has no negative PUBACK; closing the connection is the refusal (MQTT-3.3.5-2)
      this.options.onRefused(deviceId, 'topic_not_allowed', remoteAddress(client))
      done(new Error(`${deviceId} may not publish to ${packet.topic}`))
      return
    }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload
    // a will is published by aedes as the client closes: it was never read, so never counted
    const flow = client.closed ? undefined : this.flows.get(client.conn)
    flow?.enter()
    this.inflight++
    const answer = (error: Error | null): void => {
      // aedes writes the PUBACK synchronously inside done(), before we count the publish as settled
      done(error)
      flow?.answer()
      this.inflight--
      if (this.inflight === 0) for (const wake of this.onSettled) wake()
    }
    this.options.ingest(decodeMessage(device, route, packet.topic, payload, this.now(), this.options.log))
      .then(() => { answer(null) }, (error: Error) => { answer(error) })
  }

  /** Resolves once every publish received so far has been answered, its PUBACK written. */
  async settled (): Promise<void> {
    while (this.inflight > 0) {
      await new Promise<void>((resolve) => {
        const wake = (): void => { this.onSettled.delete(wake); resolve() }
        this.onSettled.add(wake)
      })
    }
  }

  private authorizeSubscribe (
    client: Client,
    subscription: Subscription,
    done: (error: Error | null, subscription?: Subscription | null) => void
  ): void {
    const deviceId = this.deviceOf.get(client)
    const device = deviceId === undefined ? undefined : this.options.findDevice(deviceId)
    if (device !== undefined && maySubscribe(device, subscription.topic)) {
      done(null, subscription)
      return
    }
    this.options.onRefused(deviceId ?? null, 'subscribe_not_allowed', remoteAddress(client))
    // a null subscription answers SUBACK 0x80 without dropping the connection
    done(null, null)
  }
}

function remoteAddress (client: Client): string | null {
  return client.req?.socket.remoteAddress ?? (client.conn as net.Socket).remoteAddress ?? null
}
