import net from 'node:net'
import { Transform } from 'node:stream'

/**
 * How a relay can fail, as a database host does:
 * - pass: bytes flow;
 * - close: open connections are closed cleanly (FIN) and new ones are closed as they arrive;
 * - refuse: nothing listens, so connecting is refused; open connections are reset;
 * - reset: open and new connections are reset (RST);
 * - blackhole: connections stay open and new ones are accepted, but nothing passes either way,
 *   until the relay passes again; then the held bytes flow on, as after a network partition;
 * - slow: bytes pass, each chunk `slowMs` late, as over a congested link or to a loaded server.
 */
export type ProxyMode = 'pass' | 'close' | 'refuse' | 'reset' | 'blackhole' | 'slow'

interface Pair {
  client: net.Socket
  upstream: net.Socket
  /** What each way passes through: a delay, which is nothing unless the relay is slow. */
  toUpstream: Transform
  toClient: Transform
}

/**
 * A TCP relay in front of a real server that a test can break in each of the ways above and
 * restore.
 */
export class TcpProxy {
  private server: net.Server | undefined
  private readonly pairs = new Set<Pair>()
  /** Every accepted socket, relayed or not, so none outlives a cut. */
  private readonly accepted = new Set<net.Socket>()
  private mode: ProxyMode = 'pass'
  port = 0
  slowMs = 300

  constructor (private readonly targetHost: string, private readonly targetPort: number) {}

  async start (port = 0): Promise<number> {
    const server = net.createServer((client) => { this.accept(client) })
    this.server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve() })
    })
    this.port = (server.address() as net.AddressInfo).port
    return this.port
  }

  private accept (client: net.Socket): void {
    client.on('error', () => {})
    this.accepted.add(client)
    client.on('close', () => { this.accepted.delete(client) })
    if (this.mode === 'close') { client.destroySoon(); return }
    if (this.mode === 'reset') { client.resetAndDestroy(); return }
    const upstream = net.connect(this.targetPort, this.targetHost)
    upstream.on('error', () => {})
    const pair = { client, upstream, toUpstream: this.delay(), toClient: this.delay() }
    this.pairs.add(pair)
    const drop = (): void => {
      this.pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('close', drop)
    upstream.on('close', drop)
    pair.toUpstream.pipe(upstream)
    pair.toClient.pipe(client)
    this.release(pair)
    if (this.mode === 'blackhole') this.hold(pair)
  }

  /** Passes chunks in order, each held back `slowMs` while the relay is slow. */
  private delay (): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding, done) => {
        if (this.mode === 'slow') setTimeout(() => { done(null, chunk) }, this.slowMs)
        else done(null, chunk)
      }
    })
  }

  /** Holds every byte: pipe() resumes a paused source on drain, so unpipe before pausing. */
  private hold ({ client, upstream, toUpstream, toClient }: Pair): void {
    client.unpipe(toUpstream)
    upstream.unpipe(toClient)
    client.pause()
    upstream.pause()
  }

  private release ({ client, upstream, toUpstream, toClient }: Pair): void {
    client.pipe(toUpstream)
    upstream.pipe(toClient)
  }

  /** Breaks the relay in one way; `pass` restores it. */
  async set (mode: ProxyMode): Promise<void> {
    const previous = this.mode
    this.mode = mode
    if (previous === 'refuse' && mode !== 'refuse') await this.start(this.port)
    if (previous === 'blackhole' && mode !== 'blackhole') for (const pair of this.pairs) this.release(pair)
    for (const pair of [...this.pairs]) {
      if (mode === 'close') { pair.client.end(); pair.upstream.end() }
      if (mode === 'reset' || mode === 'refuse') { pair.client.resetAndDestroy(); pair.upstream.destroy() }
      if (mode === 'blackhole') this.hold(pair)
    }
    if (mode === 'refuse') {
      for (const socket of this.accepted) socket.resetAndDestroy()
      await this.stopListening()
    }
  }

  async cut (): Promise<void> {
    await this.set('refuse')
  }

  async restore (): Promise<void> {
    await this.set('pass')
  }

  private async stopListening (): Promise<void> {
    const server = this.server
    this.server = undefined
    if (server === undefined) return
    await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
  }

  async stop (): Promise<void> {
    for (const { client, upstream } of this.pairs) { client.destroy(); upstream.destroy() }
    for (const socket of this.accepted) socket.destroy()
    this.pairs.clear()
    await this.stopListening()
  }
}

/** A relay in front of the PostgreSQL at `databaseUrl`, and the URL that goes through it. */
export async function relayDatabase (databaseUrl: string): Promise<{ proxy: TcpProxy, url: string }> {
  const target = new URL(databaseUrl)
  const proxy = new TcpProxy(target.hostname, Number(target.port || 5432))
  await proxy.start()
  const via = new URL(databaseUrl)
  via.host = `127.0.0.1:${proxy.port}`
  return { proxy, url: via.toString() }
}
