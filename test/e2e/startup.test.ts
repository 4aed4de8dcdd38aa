import net from 'node:net'
import type { MqttClient } from 'mqtt'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceTopic } from '../../proto/topics.js'
import { connectDevice, eventually } from '../support/clients.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'
import { freePort, startServerProcess } from '../support/processes.js'
import { TEST_API_KEY } from '../support/server.js'

describe('starting and stopping', () => {
  let db: TestDatabase

  beforeAll(async () => { db = await createTestDatabase() })
  afterAll(async () => { await db?.drop() })

  const baseEnv = async (): Promise<Record<string, string>> => ({
    DATABASE_URL: db.url,
    HOST: '127.0.0.1',
    HTTP_PORT: String(await freePort()),
    MQTT_PORT: String(await freePort()),
    API_KEY: TEST_API_KEY,
    LOG_FORMAT: 'pretty'
  })

  /** Runs the server expecting it to refuse to start; returns what it printed. */
  const failedStart = async (env: Record<string, string>): Promise<string> => {
    const child = startServerProcess(env)
    const { code } = await child.exited
    expect(code).toBe(1)
    expect(child.output).not.toMatch(/\n\s+at /)
    return child.output.trim()
  }

  for (const setting of ['HTTP_PORT', 'MQTT_PORT']) {
    it(`names ${setting} in one line when its port is taken`, async () => {
      const env = await baseEnv()
      const port = Number(env[setting])
      const squatter = net.createServer()
      await new Promise<void>((resolve) => { squatter.listen(port, '127.0.0.1', () => { resolve() }) })
      try {
        const output = await failedStart({ ...env, LOG_LEVEL: 'error' })
        expect(output).toBe(`trackstream: port ${port} is already in use on 127.0.0.1: stop what uses it, or set ${setting} to a free port`)
      } finally {
        squatter.close()
      }
    })
  }

  it('lists every bad setting at once', async () => {
    const output = await failedStart({ ...await baseEnv(), HTTP_PORT: 'eighty', LOG_LEVEL: 'loud' })
    expect(output).toContain('HTTP_PORT must be a whole number from 0 to 65535, got "eighty"')
    expect(output).toContain('LOG_LEVEL must be one of')
  })

  it('says which database it cannot reach', async () => {
    const closedPort = await freePort()
    const output = await failedStart({ ...await baseEnv(), DATABASE_URL: `postgres://postgres:secret@127.0.0.1:${closedPort}/nowhere` })
    expect(output).toContain(`trackstream: cannot reach the database at postgres://postgres:***@127.0.0.1:${closedPort}/nowhere (DATABASE_URL)`)
    expect(output).not.toContain('secret')
  })

  it('says which Redis it cannot reach', async () => {
    const closedPort = await freePort()
    const output = await failedStart({ ...await baseEnv(), REDIS_URL: `redis://:hush@127.0.0.1:${closedPort}` })
    expect(output).toContain(`trackstream: cannot reach Redis at redis://:***@127.0.0.1:${closedPort} (REDIS_URL): connect ECONNREFUSED`)
    expect(output).not.toContain('hush')
  })

  it('on SIGINT, commits what it holds and acknowledges it before disconnecting devices, then exits 0', async () => {
    const env = await baseEnv()
    const server = startServerProcess(env)
    let device: MqttClient | undefined
    const lock = new pg.Client({ connectionString: db.url })
    try {
      await server.waitForOutput(/trackstream is running/)
      const created = await fetch(`http://127.0.0.1:${env.HTTP_PORT}/api/devices`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ id: 'van-drain', kind: 'tracker' })
      })
      const { secret } = await created.json() as { secret: string }
      device = await connectDevice(`mqtt://127.0.0.1:${env.MQTT_PORT}`, 'van-drain', secret)
      await lock.connect()
      await lock.query('BEGIN')
      await lock.query('LOCK TABLE positions IN EXCLUSIVE MODE')
      let acked = false
      const done = device.publishAsync(deviceTopic('van-drain', 'fix'), JSON.stringify({ time: Date.now() - 1000, lat: 1.3, lon: 103.8 }), { qos: 1 })
        .then(() => { acked = true })
      await eventually(async () => {
        const waiting = await db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")
        expect(waiting.rows[0]?.n).toBe(1)
      })
      server.signal('SIGINT')
      await server.waitForOutput(/SIGINT: stopping/)
      // new devices are turned away while held messages drain
      await expect(connectDevice(`mqtt://127.0.0.1:${env.MQTT_PORT}`, 'van-drain', secret)).rejects.toThrow()
      expect(acked).toBe(false)
      await lock.query('ROLLBACK')
      await done
      const { rows } = await db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM positions WHERE device_id = 'van-drain'")
      expect(rows[0]?.n).toBe(1)
      expect((await server.exited).code).toBe(0)
    } finally {
      await lock.end().catch(() => {})
      device?.end(true)
      server.signal('SIGKILL')
    }
  })
})
