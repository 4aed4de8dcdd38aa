import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import WebSocket from 'ws'

/** A device: a real MQTT client over TCP, logged in with its id and secret. */
export async function connectDevice (url: string, deviceId: string, secret: string, options: IClientOptions = {}): Promise<MqttClient> {
  return await mqtt.connectAsync(url, {
    username: deviceId,
    password: secret,
    clientId: `${deviceId}-${Math.random().toString(36).slice(2, 8)}`,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...options
  })
}

/** Resolves with the CONNACK refusal, or rejects if the broker let the client in. */
export async function refusedConnect (url: string, options: IClientOptions): Promise<Error & { code?: number }> {
  return await new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options })
    client.on('connect', () => { client.end(true); reject(new Error('the broker accepted the connection')) })
    client.on('error', (error) => { client.end(true); resolve(error as Error & { code?: number }) })
  })
}

export async function publish (client: MqttClient, topic: string, payload: string | Uint8Array, qos: 0 | 1 = 1): Promise<void> {
  await client.publishAsync(topic, Buffer.from(payload), { qos })
}

/** How a collector reads a message: JSON text unless told otherwise. */
export type FrameDecoder<F> = (data: Buffer, binary: boolean) => F

/** A WebSocket client that keeps every frame and can wait for one that matches. */
export class FrameCollector<F = Record<string, unknown>> {
  readonly frames: F[] = []
  private readonly waiters = new Set<() => void>()

  constructor (readonly socket: WebSocket, decode: FrameDecoder<F> = (data) => JSON.parse(data.toString()) as F) {
    socket.on('message', (data: Buffer, binary) => {
      this.frames.push(decode(data, binary))
      for (const wake of this.waiters) wake()
    })
  }

  static async open<F = Record<string, unknown>> (url: string, headers: Record<string, string> = {}, decode?: FrameDecoder<F>): Promise<FrameCollector<F>> {
    const socket = new WebSocket(url, { headers })
    const collector = new FrameCollector<F>(socket, decode)
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => { resolve() })
      socket.once('error', reject)
      socket.once('unexpected-response', (_request, response) => { reject(new Error(`HTTP ${response.statusCode}`)) })
    })
    return collector
  }

  /** The first frame from index `from` on that matches. */
  async waitFor (match: (frame: F) => boolean, timeoutMs = 5000, from = 0): Promise<F> {
    const found = (): F | undefined => this.frames.slice(from).find(match)
    const already = found()
    if (already !== undefined) return already
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check)
        reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames).slice(0, 500)}`))
      }, timeoutMs)
      const check = (): void => {
        const frame = found()
        if (frame === undefined) return
        clearTimeout(timer)
        this.waiters.delete(check)
        resolve(frame)
      }
      this.waiters.add(check)
    })
  }

  send (message: unknown): void {
    this.socket.send(JSON.stringify(message))
  }

  close (): void {
    this.socket.close()
  }
}

/** Polls until the check passes or time runs out; for state that settles asynchronously. */
export async function eventually<T> (check: () => Promise<T>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await check()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}
