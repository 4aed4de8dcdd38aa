import type pg from 'pg'
import { expect } from 'vitest'
import { eventually } from './clients.js'
import { duplicatePositions, type Fleet } from './fleet.js'
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

  async start (): Promise<void> {
    const child = startServerProcess(this.env)
    this.processes.push(child)
    await child.waitForOutput(/trackstream is running/)
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

/**
 * Kills the server -9 at random moments while the fleet publishes, five times over, starting it
 * again each time and waiting until acknowledgements come again (within `resumeMs`).
 */
export async function killUnderLoad (servers: Restartable, fleet: Fleet, resumeMs: number): Promise<void> {
  for (let round = 0; round < 5; round++) {
    await sleep(300 + Math.floor(Math.random() * 1200))
    await servers.kill()
    await servers.start()
    const acked = fleet.ackedCount
    await eventually(async () => { expect(fleet.ackedCount).toBeGreaterThan(acked) }, resumeMs)
  }
}

/** Once the fleet has stopped: every acknowledged fix is stored, and none twice. */
export async function expectEveryAckStoredOnce (fleet: Fleet, pool: pg.Pool): Promise<void> {
  fleet.stopPublishing()
  await fleet.settle(30_000)
  // mqtt.js gives up on publishes made while it replays its store and the connection drops
  // again; those were never acknowledged, so they are not owed. Nothing else may fail.
  expect(fleet.failures.filter((reason) => !reason.endsWith(': Connection closed'))).toEqual([])
  expect(fleet.ackedCount).toBe(fleet.sent - fleet.failed)
  expect(fleet.ackedCount).toBeGreaterThan(fleet.sent / 2)
  expect(await fleet.missing(pool)).toEqual([])
  expect(await duplicatePositions(pool)).toBe(0)
}
