import { startServerProcess, freePort, type Subprocess } from './processes.js'
import { TEST_API_KEY } from './server.js'

export async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

/** A server process on fixed ports, so devices that reconnect by themselves find its successor. */
export class Restartable {
  readonly processes: Subprocess[] = []
  readonly httpUrl: string
  readonly mqttUrl: string

  private constructor (private readonly env: Record<string, string>, httpPort: number, mqttPort: number) {
    this.httpUrl = `http://127.0.0.1:${httpPort}`
    this.mqttUrl = `mqtt://127.0.0.1:${mqttPort}`
  }

  static async on (databaseUrl: string, extra: Record<string, string> = {}): Promise<Restartable> {
    const [httpPort, mqttPort] = [await freePort(), await freePort()]
    return new Restartable({
      DATABASE_URL: databaseUrl,
      HTTP_PORT: String(httpPort),
      MQTT_PORT: String(mqttPort),
      HOST: '127.0.0.1',
      API_KEY: TEST_API_KEY,
      DB_QUERY_TIMEOUT_MS: '2000',
      DB_CONNECT_TIMEOUT_MS: '1000',
      ...extra
    }, httpPort, mqttPort)
  }

  get current (): Subprocess | undefined {
    return this.processes.at(-1)
  }

  async start (timeoutMs?: number): Promise<void> {
    const child = startServerProcess(this.env)
    this.processes.push(child)
    await child.waitForOutput(/trackstream is running/, timeoutMs)
  }

  async kill (): Promise<void> {
    this.current?.signal('SIGKILL')
    await this.current?.exited
  }

  async stopAll (): Promise<void> {
    for (const child of this.processes) child.signal('SIGKILL')
    await Promise.all(this.processes.map(async (child) => await child.exited))
  }
}
