import mqtt from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { deviceTopic } from '../../proto/topics.js'
import { eventually } from '../support/clients.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'
import { freePort, killAll, startServerProcess, type Subprocess } from '../support/processes.js'
import { redisMissing, startRedis, type TestRedis } from '../support/redis.js'
import { registerTracker } from '../support/remote.js'
import { TEST_API_KEY } from '../support/server.js'

interface Instance { process: Subprocess, httpUrl: string, mqttUrl: string }

async function startInstance (db: TestDatabase, redis: TestRedis, processes: Subprocess[]): Promise<Instance> {
  const [httpPort, mqttPort] = [await freePort(), await freePort()]
  const started = startServerProcess({
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    HOST: '127.0.0.1',
    HTTP_PORT: String(httpPort),
    MQTT_PORT: String(mqttPort),
    API_KEY: TEST_API_KEY
  })
  processes.push(started)
  await started.waitForOutput(/trackstream is running/)
  return { process: started, httpUrl: `http://127.0.0.1:${httpPort}`, mqttUrl: `mqtt://127.0.0.1:${mqttPort}` }
}

const held = async (instance: Instance): Promise<boolean> =>
  /^trackstream_singleton_held 1$/m.test(await (await fetch(`${instance.httpUrl}/metrics`)).text())

describe.skipIf(redisMissing !== undefined)('cluster mode: one instance killed under QoS 1 load', () => {
  let processes: Subprocess[] = []
  let db: TestDatabase | undefined
  let redis: TestRedis | undefined

  afterEach(async () => {
    await killAll(processes)
    processes = []
    await db?.drop()
    await redis?.stop()
  })

  it('its tracker moves to the survivor: 0 acknowledged fixes lost, 0 duplicate rows, and the once-only work resumes there within 10 s', async () => {
    redis = await startRedis()
    db = await createTestDatabase()
    const a = await startInstance(db, redis, processes)
    const b = await startInstance(db, redis, processes)
    // A holds the lease when it started first; make sure of it, so the kill moves it
    await eventually(async () => { expect(await held(a)).toBe(true) })
    const secret = await registerTracker(a.httpUrl, 'van-k')
    const base = Date.now() - 600_000
    const fix = (seq: number): string => JSON.stringify({ time: base + seq * 1000, lat: 13.7 + seq / 10_000, lon: 100.5, seq })

    const acked = new Set<number>()
    const pending = new Set<number>()
    const send = async (client: mqtt.MqttClient, seq: number): Promise<void> => {
      pending.add(seq)
      try {
        await client.publishAsync(deviceTopic('van-k', 'fix'), fix(seq), { qos: 1 })
        acked.add(seq)
        pending.delete(seq)
      } catch {
        // not acknowledged: the device sends it again after it reconnects
      }
    }
    const onA = await mqtt.connectAsync(a.mqttUrl, { username: 'van-k', password: secret, clientId: 'van-k-cab', reconnectPeriod: 0 })
    onA.on('error', () => {})
    const inFlight: Array<Promise<void>> = []
    for (let seq = 1; seq <= 200; seq++) {
      inFlight.push(send(onA, seq))
      if (seq % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 10))
      if (seq === 120) a.process.signal('SIGKILL')
    }
    await a.process.exited
    const killedAt = Date.now()
    onA.end(true)
    await Promise.allSettled(inFlight)
    expect(acked.size).toBeGreaterThan(0)
    expect(pending.size).toBeGreaterThan(0)

    // the device reconnects to the other instance and sends what was never acknowledged, then goes on
    const onB = await eventually(async () => await mqtt.connectAsync(b.mqttUrl, { username: 'van-k', password: secret, clientId: 'van-k-cab', reconnectPeriod: 0 }))
    for (const seq of [...pending].sort((x, y) => x - y)) await send(onB, seq)
    for (let seq = 201; seq <= 250; seq++) await send(onB, seq)
    await onB.endAsync()
    expect(pending.size).toBe(0)

    const { rows } = await db.pool.query<{ seq: string, n: number }>("SELECT seq::text AS seq, count(*)::int AS n FROM positions WHERE device_id = 'van-k' GROUP BY 1")
    expect(rows.filter((row) => row.n !== 1)).toEqual([])
    const stored = new Set(rows.map((row) => Number(row.seq)))
    expect([...acked].filter((seq) => !stored.has(seq))).toEqual([])
    expect(stored.size).toBe(250)

    await eventually(async () => { expect(await held(b)).toBe(true) }, 10_000)
    console.log(`the survivor took over the once-only work ${Date.now() - killedAt} ms after the kill`)
    expect(Date.now() - killedAt).toBeLessThan(10_000)
  })
})
