import net from 'node:net'

/**
 * A TCP relay in front of a real server that a test can cut and restore: while cut, open
 * connections are reset and new ones refused, as when a database host goes away.
 */
export class TcpProxy {
  private server: net.Server | undefined
  private readonly sockets = new Set<net.Socket>()
  port = 0

  constructor (private readonly targetHost: string, private readonly targetPort: number) {}

  async start (port = 0): Promise<number> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost)
      for (const socket of [client, upstream]) {
        this.sockets.add(socket)
        socket.on('close', () => { this.sockets.delete(socket) })
        socket.on('error', () => { client.destroy(); upstream.destroy() })
      }
      client.pipe(upstream).pipe(client)
    })
    this.server = server
    await new Promise<void>((resolve) => { server.listen(port, '127.0.0.1', () => { resolve() }) })
    this.port = (server.address() as net.AddressInfo).port
    return this.port
  }

  async cut (): Promise<void> {
    for (const socket of this.sockets) socket.resetAndDestroy()
    await this.stop()
  }

  async restore (): Promise<void> {
    await this.start(this.port)
  }

  async stop (): Promise<void> {
    const server = this.server
    this.server = undefined
    if (server === undefined) return
    for (const socket of this.sockets) socket.destroy()
    await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
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
