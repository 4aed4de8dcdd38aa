import mqtt from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { deviceTopic } from '../../proto/topics.js'
import { eventually, FrameCollector } from '../support/clients.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'
import { haproxyMissing, startHaproxy } from '../support/haproxy.js'
import { freePort, killAll, startServerProcess, type Subprocess } from '../support/processes.js'
import { redisMissing, startRedis, type TestRedis } from '../support/redis.js'
import { registerTracker } from '../support/remote.js'
import { TEST_API_KEY } from '../support/server.js'

const missing = haproxyMissing ?? redisMissing
if (missing !== undefined) console.warn(`skipping the HAProxy cluster test: ${missing}`)

interface Frame { type: string, positions?: Array<{ deviceId: string }> }

describe.skipIf(missing !== undefined)('docker-compose.cluster.yml\'s topology as processes: two instances behind HAProxy', () => {
  let processes: Subprocess[] = []
  let db: TestDatabase | undefined
  let redis: TestRedis | undefined
  let proxy: Awaited<ReturnType<typeof startHaproxy>> | undefined

  afterEach(async () => {
    await proxy?.stop()
    await killAll(processes)
    processes = []
    await db?.drop()
    await redis?.stop()
  })

  it('serves API, live frames and MQTT through HAProxy, and sends a tracker to the survivor when its instance is killed', async () => {
    redis = await startRedis()
    db = await createTestDatabase()
    const instances = []
    for (const name of ['trackstream-a', 'trackstream-b'] as const) {
      const [httpPort, mqttPort] = [await freePort(), await freePort()]
      const started = startServerProcess({ DATABASE_URL: db.url, REDIS_URL: redis.url, HOST: '127.0.0.1', HTTP_PORT: String(httpPort), MQTT_PORT: String(mqttPort), API_KEY: TEST_API_KEY })
      processes.push(started)
      await started.waitForOutput(/trackstream is running/)
      instances.push({ name, httpPort, mqttPort, process: started })
    }
    proxy = await startHaproxy(instances)
    const secret = await eventually(async () => await registerTracker(proxy!.httpUrl, 'van-h'), 10_000)
    const ops = await eventually(async () => await FrameCollector.open<Frame>(`${proxy!.wsUrl}/ws/live`, { authorization: `Bearer ${TEST_API_KEY}` }), 10_000)

    const base = Date.now() - 600_000
    const fix = (seq: number): string => JSON.stringify({ time: base + seq * 1000, lat: 13.7 + seq / 10_000, lon: 100.5, seq })
    const connect = async (): Promise<mqtt.MqttClient> => await eventually(async () =>
      await mqtt.connectAsync(proxy!.mqttUrl, { username: 'van-h', password: secret, clientId: 'van-h-cab', reconnectPeriod: 0, connectTimeout: 2000 }), 20_000)
    const first = await connect()
    first.on('error', () => {})
    for (let seq = 1; seq <= 10; seq++) await first.publishAsync(deviceTopic('van-h', 'fix'), fix(seq), { qos: 1 })
    // whichever instance the viewer landed on, it sees the tracker's fixes (through Redis if need be)
    await ops.waitFor((frame) => frame.positions?.some((p) => p.deviceId === 'van-h') === true)
    ops.close()

    // the instance holding the tracker's connection dies
    const holder = await (async () => {
      for (const instance of instances) {
        const status = await (await fetch(`http://127.0.0.1:${instance.httpPort}/api/devices/van-h`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } })).json() as { status: { connected: boolean } }
        if (status.status.connected) return instance
      }
      throw new Error('no instance has the tracker')
    })()
    holder.process.signal('SIGKILL')
    await holder.process.exited
    first.end(true)
    // HAProxy finds it down (its health check) and sends the reconnect to the other
    const second = await connect()
    for (let seq = 11; seq <= 20; seq++) await second.publishAsync(deviceTopic('van-h', 'fix'), fix(seq), { qos: 1 })
    await second.endAsync()
    const { rows } = await db.pool.query<{ n: number, distinct: number }>("SELECT count(*)::int AS n, count(DISTINCT seq)::int AS distinct FROM positions WHERE device_id = 'van-h'")
    expect(rows[0]).toEqual({ n: 20, distinct: 20 })
  })
})
