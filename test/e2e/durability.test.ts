import type { MqttClient } from 'mqtt'
import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { deviceTopic } from '../../proto/topics.js'
import { connectDevice, eventually } from '../support/clients.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'
import { freePort, killAll, startServerProcess, type Subprocess } from '../support/processes.js'
import { startTestServer, TEST_API_KEY, type TestServer } from '../support/server.js'
import { messagesSeen, registerTracker } from '../support/remote.js'
import { relayDatabase } from '../support/tcp-proxy.js'

const fixPayload = (seq: number): string => JSON.stringify({ time: Date.now() - 1000, lat: 13.75, lon: 100.5, seq })

async function positionCount (pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM positions')
  return rows[0]?.n ?? -1
}

/** Holds every insert into positions until released, while reads go on. */
async function lockPositions (url: string): Promise<{ release: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  await client.query('BEGIN')
  await client.query('LOCK TABLE positions IN EXCLUSIVE MODE')
  return {
    release: async () => {
      await client.query('ROLLBACK')
      await client.end()
    }
  }
}

/** Watches a QoS1 publish: `acked` turns true when the PUBACK arrives. */
function watchedPublish (client: MqttClient, topic: string, payload: string): { acked: () => boolean, done: Promise<void> } {
  let acked = false
  const done = client.publishAsync(topic, payload, { qos: 1 }).then(() => { acked = true })
  return { acked: () => acked, done }
}

describe('a QoS1 message is acknowledged only after it is committed', () => {
  let server: TestServer | undefined
  let device: MqttClient | undefined

  afterEach(async () => {
    await device?.endAsync(true)
    await server?.close()
  })

  it('holds the PUBACK while the commit is blocked, and sends it once the row is in', async () => {
    server = await startTestServer()
    const { secret } = await server.registerDevice('van-9')
    device = await connectDevice(server.mqttUrl, 'van-9', secret)
    const lock = await lockPositions(server.db.url)
    const publish = watchedPublish(device, deviceTopic('van-9', 'fix'), fixPayload(1))
    await eventually(async () => { expect(await messagesSeen(server!.httpUrl, 'van-9')).toBe(1) })
    // received and waiting on the database: no acknowledgement may leave yet
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(publish.acked()).toBe(false)
    expect(await positionCount(server.db.pool)).toBe(0)
    await lock.release()
    await publish.done
    expect(await positionCount(server.db.pool)).toBe(1)
  })

  it('holds acknowledgements while the database is gone, keeps serving, and loses nothing', async () => {
    const db = await createTestDatabase()
    const { proxy, url: viaProxy } = await relayDatabase(db.url)
    try {
      server = await startTestServer({ db, env: { DATABASE_URL: viaProxy } })
      const { secret } = await server.registerDevice('van-8')
      device = await connectDevice(server.mqttUrl, 'van-8', secret, { keepalive: 60 })
      await proxy.cut()
      const publishes = [1, 2, 3].map((seq) => watchedPublish(device!, deviceTopic('van-8', 'fix'), fixPayload(seq)))
      await new Promise((resolve) => setTimeout(resolve, 1500))
      expect(publishes.some((p) => p.acked())).toBe(false)
      const ready = await fetch(`${server.httpUrl}/readyz`)
      expect(ready.status).toBe(503)
      expect(await ready.json()).toMatchObject({ database: 'down', broker: 'up' })
      expect((await fetch(`${server.httpUrl}/healthz`)).status).toBe(200)

      await proxy.restore()
      await Promise.all(publishes.map(async (p) => { await p.done }))
      expect(await positionCount(db.pool)).toBe(3)
      expect((await fetch(`${server.httpUrl}/readyz`)).status).toBe(200)
    } finally {
      await server?.close()
      server = undefined
      await proxy.stop()
      await db.drop()
    }
  })
})

describe('a redelivery the server no longer remembers', () => {
  it('is acknowledged and stored once when the fix was stored before a restart', async () => {
    const db = await createTestDatabase()
    let server: TestServer | undefined
    let device: MqttClient | undefined
    try {
      server = await startTestServer({ db })
      const { secret } = await server.registerDevice('van-6')
      const payload = JSON.stringify([{ time: Date.now() - 2000, lat: 13.7, lon: 100.5, seq: 1 }, { time: Date.now() - 1000, lat: 13.71, lon: 100.51, seq: 2 }])
      device = await connectDevice(server.mqttUrl, 'van-6', secret)
      await device.publishAsync(deviceTopic('van-6', 'fix'), payload, { qos: 1 })
      await device.endAsync()
      await server.close()
      // a fresh process: its memory of recent fixes is empty, only the unique key knows
      server = await startTestServer({ db })
      device = await connectDevice(server.mqttUrl, 'van-6', secret)
      const fresh = JSON.stringify({ time: Date.now() - 500, lat: 13.72, lon: 100.52, seq: 3 })
      await device.publishAsync(deviceTopic('van-6', 'fix'), Buffer.concat([Buffer.from(payload.slice(0, -1)), Buffer.from(`,${fresh}]`)]), { qos: 1 })
      const { rows } = await db.pool.query<{ seq: string }>("SELECT seq::text FROM positions WHERE device_id = 'van-6' ORDER BY time")
      expect(rows.map((r) => r.seq)).toEqual(['1', '2', '3'])
      // skipped as duplicates, not refused row by row as something the database would not take
      const refused = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM ingest_rejects')
      expect(refused.rows[0]?.n).toBe(0)
    } finally {
      await device?.endAsync(true)
      await server?.close()
      await db.drop()
    }
  })
})

describe('killing the server between receipt and commit loses nothing acknowledged', () => {
  let processes: Subprocess[] = []
  let db: TestDatabase | undefined
  let device: MqttClient | undefined

  afterEach(async () => {
    await device?.endAsync(true)
    await killAll(processes)
    processes = []
    await db?.drop()
  })

  it('the unacknowledged message is resent to the restarted server and stored exactly once', async () => {
    db = await createTestDatabase()
    const [httpPort, mqttPort] = [await freePort(), await freePort()]
    const env = { DATABASE_URL: db.url, HTTP_PORT: String(httpPort), MQTT_PORT: String(mqttPort), HOST: '127.0.0.1', API_KEY: TEST_API_KEY }
    const first = startServerProcess(env)
    processes.push(first)
    await first.waitForOutput(/trackstream is running/)
    const httpUrl = `http://127.0.0.1:${httpPort}`
    const secret = await registerTracker(httpUrl, 'van-7')
    // a persistent session that reconnects by itself and resends what was never acknowledged
    device = await connectDevice(`mqtt://127.0.0.1:${mqttPort}`, 'van-7', secret, { clientId: 'van-7-main', clean: false, reconnectPeriod: 200 })

    const lock = await lockPositions(db.url)
    const publish = watchedPublish(device, deviceTopic('van-7', 'fix'), fixPayload(42))
    await eventually(async () => { expect(await messagesSeen(httpUrl, 'van-7')).toBe(1) })
    first.signal('SIGKILL')
    await first.exited
    await lock.release()
    expect(publish.acked()).toBe(false)
    expect(await positionCount(db.pool)).toBe(0)

    const second = startServerProcess(env)
    processes.push(second)
    await second.waitForOutput(/trackstream is running/)
    await publish.done
    expect(await positionCount(db.pool)).toBe(1)
    const { rows } = await db.pool.query('SELECT seq FROM positions')
    expect(rows).toEqual([{ seq: '42' }])
  })
})
