import { execFile } from 'node:child_process'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { deviceTopic } from '../../proto/topics.js'
import { eventually } from '../support/clients.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'
import { mosquittoMissing, startMosquitto, type TestMosquitto } from '../support/mosquitto.js'
import { freePort, killAll, startServerProcess, type Subprocess } from '../support/processes.js'
import { registerTracker, remoteApi } from '../support/remote.js'
import { TEST_API_KEY } from '../support/server.js'

if (mosquittoMissing !== undefined) console.warn(`skipping the external broker tests: ${mosquittoMissing}`)

interface Processor { process: Subprocess, httpUrl: string, env: Record<string, string> }

async function startProcessor (db: TestDatabase, broker: TestMosquitto, clientId: string, processes: Subprocess[], brokerUrl = broker.url): Promise<Processor> {
  const [httpPort, mqttPort] = [await freePort(), await freePort()]
  const env = {
    DATABASE_URL: db.url,
    HTTP_PORT: String(httpPort),
    MQTT_PORT: String(mqttPort),
    HOST: '127.0.0.1',
    API_KEY: TEST_API_KEY,
    MQTT_URL: brokerUrl,
    MQTT_CLIENT_ID: clientId,
    MQTT_SHARE_GROUP: 'ingest'
  }
  const started = startServerProcess(env)
  processes.push(started)
  await started.waitForOutput(/trackstream is running/)
  const httpUrl = `http://127.0.0.1:${httpPort}`
  await eventually(async () => { expect((await fetch(`${httpUrl}/readyz`)).status).toBe(200) }, 10_000)
  return { process: started, httpUrl, env }
}

async function positions (db: TestDatabase): Promise<Array<{ device: string, seq: string, n: number }>> {
  const { rows } = await db.pool.query<{ device: string, seq: string, n: number }>(
    'SELECT device_id AS device, seq::text AS seq, count(*)::int AS n FROM positions GROUP BY 1, 2 ORDER BY 1, 2'
  )
  return rows
}

const base = Date.now() - 3_600_000
const fix = (seq: number): string => JSON.stringify({ time: base + seq * 1000, lat: 13.75 + seq / 10_000, lon: 100.5, seq })

describe.skipIf(mosquittoMissing !== undefined)('external broker mode: trackstream processors behind Mosquitto', () => {
  let processes: Subprocess[] = []
  let broker: TestMosquitto | undefined
  let db: TestDatabase | undefined
  let device: MqttClient | undefined

  afterEach(async () => {
    await device?.endAsync(true)
    await killAll(processes)
    processes = []
    await broker?.stop()
    await db?.drop()
  })

  it('shares one stream between two processors; one killed mid-stream and restarted, every message stored exactly once', async () => {
    broker = await startMosquitto()
    db = await createTestDatabase()
    const a = await startProcessor(db, broker, 'proc-a', processes)
    const b = await startProcessor(db, broker, 'proc-b', processes)
    // registered through one processor, known to the other before the first message (config sync)
    await registerTracker(a.httpUrl, 'van-1')
    await registerTracker(b.httpUrl, 'van-2')
    // the broker, not trackstream, checks the device's login here
    device = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: 'fleet' })
    // the embedded broker does not listen in this mode
    await expect(mqtt.connectAsync(`mqtt://127.0.0.1:${a.env.MQTT_PORT}`, { reconnectPeriod: 0, connectTimeout: 1000 })).rejects.toThrow()

    const total = 300
    let killed = false
    for (let seq = 1; seq <= total; seq++) {
      // every publish resolves on Mosquitto's PUBACK: each of these is a message it accepted
      await device.publishAsync(deviceTopic('van-1', 'fix'), fix(seq), { qos: 1 })
      await device.publishAsync(deviceTopic('van-2', 'fix'), fix(seq), { qos: 1 })
      if (seq % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 5))
      if (seq === 100) {
        a.process.signal('SIGKILL')
        await a.process.exited
        killed = true
      }
    }
    expect(killed).toBe(true)
    // what Mosquitto handed to proc-a and never had acknowledged waits in its session until it is back
    await startProcessor(db, broker, 'proc-a', processes)
    await eventually(async () => { expect((await positions(db!)).length).toBe(2 * total) }, 30_000)
    const rows = await positions(db)
    expect(rows.filter((row) => row.n !== 1)).toEqual([])
    for (const id of ['van-1', 'van-2']) {
      expect(rows.filter((row) => row.device === id).map((row) => Number(row.seq)).sort((x, y) => x - y)).toEqual(Array.from({ length: total }, (_, i) => i + 1))
    }
  })

  it('refuses, counts and acknowledges a message from a device nobody registered, and one on a topic it does not own', async () => {
    broker = await startMosquitto()
    db = await createTestDatabase()
    const only = await startProcessor(db, broker, 'proc-solo', processes)
    await registerTracker(only.httpUrl, 'van-3')
    device = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: 'stranger' })
    await device.publishAsync(deviceTopic('ghost-9', 'fix'), fix(1), { qos: 1 })
    await device.publishAsync('owntracks/van-3/phone', JSON.stringify({ _type: 'location', lat: 13.7, lon: 100.5, tst: Math.floor(base / 1000) }), { qos: 1 })
    await device.publishAsync(deviceTopic('van-3', 'fix'), fix(2), { qos: 1 })
    await eventually(async () => { expect((await positions(db!)).map((row) => row.device)).toEqual(['van-3']) })
    // the unknown device is looked for again in the database before it is refused: it may come last
    await eventually(async () => {
      const unknown = await (await remoteApi(only.httpUrl, 'GET', '/api/devices/unknown')).json() as { items: Array<{ deviceId: string }> }
      expect(unknown.items.map((item) => item.deviceId)).toContain('ghost-9')
    })
    const metrics = await (await fetch(`${only.httpUrl}/metrics`)).text()
    expect(metrics).toMatch(/trackstream_upstream_messages_total\{outcome="refused"\} 2/)
    expect(metrics).toMatch(/trackstream_upstream_messages_total\{outcome="stored"\} 1/)
    expect(metrics).toMatch(/trackstream_rejects_total\{reason="topic_not_allowed"\} 1/)
  })

  it('with Mosquitto set up as the README says (mosquitto_passwd and the %u pattern ACL), a device publishes only as itself', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'trackstream-acl-'))
    try {
      const passwd = path.join(dir, 'passwd')
      const acl = path.join(dir, 'acl')
      await writeFile(passwd, '')
      await writeFile(acl, [
        'pattern write ts/v1/%u/#',
        'pattern read ts/v1/%u/#',
        'pattern write owntracks/%u/#',
        'user trackstream',
        'topic read ts/v1/#',
        'topic read owntracks/#'
      ].join('\n') + '\n')
      await promisify(execFile)('mosquitto_passwd', ['-b', passwd, 'trackstream', 'processor-secret'])
      // Mosquitto started as root reads its files as the mosquitto user
      await chmod(dir, 0o755)
      await chmod(passwd, 0o644)
      broker = await startMosquitto({ anonymous: false, extraConfig: `password_file ${passwd}\nacl_file ${acl}` })
      db = await createTestDatabase()
      const proc = await startProcessor(db, broker, 'proc-acl', processes, `mqtt://trackstream:processor-secret@127.0.0.1:${broker.port}`)
      const secret = await registerTracker(proc.httpUrl, 'van-7')
      await registerTracker(proc.httpUrl, 'van-8')
      await promisify(execFile)('mosquitto_passwd', ['-b', passwd, 'van-7', secret])
      broker.process.signal('SIGHUP')
      await eventually(async () => {
        device = await mqtt.connectAsync(broker!.url, { protocolVersion: 5, username: 'van-7', password: secret, reconnectPeriod: 0 })
      })
      await expect(mqtt.connectAsync(broker.url, { protocolVersion: 5, username: 'van-7', password: 'wrong', reconnectPeriod: 0 })).rejects.toThrow()
      // Mosquitto answers an MQTT 5 publish outside the ACL with reason 135 (not authorized) and never delivers it
      await expect(device!.publishAsync(deviceTopic('van-8', 'fix'), fix(1), { qos: 1 })).rejects.toThrow()
      await device!.publishAsync(deviceTopic('van-7', 'fix'), fix(2), { qos: 1 })
      await eventually(async () => { expect(await positions(db!)).toEqual([{ device: 'van-7', seq: '2', n: 1 }]) })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
