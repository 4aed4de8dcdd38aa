import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { deviceTopic } from '../../proto/topics.js'
import { connectDevice, publish } from '../support/clients.js'
import { freePort, Subprocess } from '../support/processes.js'

/**
 * What a new user does: `npm start` with nothing configured but free ports, so trackstream runs
 * its own PostgreSQL under DATA_DIR. Slow (it builds the dashboard and creates a cluster), and
 * the most honest test there is.
 */
describe('npm start on a fresh machine', () => {
  let dataDir: string
  const started: Subprocess[] = []

  afterAll(async () => {
    for (const child of started) child.signal('SIGKILL')
    await Promise.all(started.map(async (child) => await child.exited))
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true })
  })

  it('runs everything, keeps what it was sent across a restart, and stops cleanly on Ctrl-C', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'trackstream-npm-start-'))
    // mkdtemp makes it 0700; as root, PostgreSQL runs as the postgres user and must get in
    await chmod(dataDir, 0o755)
    const [httpPort, mqttPort] = [await freePort(), await freePort()]
    const env = { HTTP_PORT: String(httpPort), MQTT_PORT: String(mqttPort), HOST: '127.0.0.1', DATA_DIR: dataDir, DATABASE_URL: '', API_KEY: '' }
    const start = (): Subprocess => {
      const child = Subprocess.start('npm', ['start'], env)
      started.push(child)
      return child
    }

    const first = start()
    await first.waitForOutput(/trackstream is running/, 120_000)
    expect(first.output).toMatch(/database\s+embedded PostgreSQL/)
    expect(first.output).toMatch(/storage\s+TimescaleDB not active/)
    expect(first.output).toContain(`mqtt://127.0.0.1:${mqttPort}`)
    const apiKey = (await readFile(path.join(dataDir, 'api-key'), 'utf8')).trim()
    const api = async (method: string, route: string, body?: unknown): Promise<Response> => await fetch(`http://127.0.0.1:${httpPort}${route}`, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    expect((await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status).toBe(200)
    expect((await fetch(`http://127.0.0.1:${httpPort}/`)).status).toBe(200)

    const { secret } = await (await api('POST', '/api/devices', { id: 'van-start', kind: 'tracker' })).json() as { secret: string }
    const device = await connectDevice(`mqtt://127.0.0.1:${mqttPort}`, 'van-start', secret)
    const time = new Date(Date.now() - 5000).toISOString()
    await publish(device, deviceTopic('van-start', 'fix'), JSON.stringify({ time, lat: 18.79, lon: 98.98, speed: 3 }))
    await device.endAsync()
    const positions = async (): Promise<unknown> => ((await (await api('GET', '/api/devices/van-start/positions')).json()) as { items: unknown[] }).items
    expect(await positions()).toEqual([expect.objectContaining({ time, lat: 18.79, lon: 98.98, speed: 3 })])

    // Ctrl-C signals the whole foreground group: npm dies of it, trackstream shuts down in order
    first.signal('SIGINT')
    await first.exited
    expect(first.output).toMatch(/SIGINT: stopping[^\n]*\n(.*\n)*.*INFO: stopped/)
    expect(first.output).not.toMatch(/shutdown failed|ERROR/)

    const second = start()
    await second.waitForOutput(/trackstream is running/, 120_000)
    expect(await positions()).toEqual([expect.objectContaining({ time, lat: 18.79, lon: 98.98 })])
    second.signal('SIGINT')
    await second.exited
    expect(second.output).toMatch(/INFO: stopped/)
  }, 300_000)
})
