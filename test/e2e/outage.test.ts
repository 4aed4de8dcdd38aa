import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../support/database.js'
import { duplicatePositions, Fleet, type FleetDevice } from '../support/fleet.js'
import { freePort, startServerProcess, type Subprocess } from '../support/processes.js'
import { registerTracker, remoteApi } from '../support/remote.js'
import { TEST_API_KEY } from '../support/server.js'
import { relayDatabase, type ProxyMode, type TcpProxy } from '../support/tcp-proxy.js'

const DEVICES = 20
const PER_SECOND = 400
const PER_DEVICE = 25

/** The number a Prometheus text line reports, or NaN. */
function metric (text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  return line === undefined ? Number.NaN : Number(line.split(' ')[1])
}

async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * The server as `npm start` runs it, in its own process, with PostgreSQL behind a relay that the
 * test breaks in every way a database can go while trackers publish QoS 1 fixes. The process must
 * stay up, acknowledge nothing it has not committed, hold devices back with bounded memory, say
 * so on /readyz within a second, and carry on by itself when the database returns.
 */
describe('an outage matrix under QoS 1 load', () => {
  let db: TestDatabase
  let proxy: TcpProxy
  let server: Subprocess
  let fleet: Fleet
  let httpUrl: string
  let mqttUrl: string

  beforeAll(async () => {
    db = await createTestDatabase()
    const relay = await relayDatabase(db.url)
    proxy = relay.proxy
    const [httpPort, mqttPort] = [await freePort(), await freePort()]
    httpUrl = `http://127.0.0.1:${httpPort}`
    mqttUrl = `mqtt://127.0.0.1:${mqttPort}`
    server = startServerProcess({
      DATABASE_URL: relay.url,
      HTTP_PORT: String(httpPort),
      MQTT_PORT: String(mqttPort),
      HOST: '127.0.0.1',
      API_KEY: TEST_API_KEY,
      LOG_LEVEL: 'info',
      DB_QUERY_TIMEOUT_MS: '2000',
      DB_CONNECT_TIMEOUT_MS: '1000',
      MQTT_MAX_INFLIGHT: String(PER_DEVICE),
      // every background loop runs often, so each meets the outage mid-query
      EXCEPTION_SWEEP_MS: '100',
      ETA_SWEEP_MS: '100',
      KPI_REFRESH_MS: '200',
      WEBHOOK_POLL_MS: '100',
      // its webhook receiver is on 127.0.0.1
      WEBHOOK_ALLOW_PRIVATE: 'true',
      RFID_WINDOW_MS: '100'
    })
    await server.waitForOutput(/trackstream is running/)
    const devices: FleetDevice[] = []
    for (let i = 0; i < DEVICES; i++) devices.push({ id: `van-${i}`, secret: await registerTracker(httpUrl, `van-${i}`) })
    // a webhook receiver that is never there, so the dispatcher has work in every outage
    await remoteApi(httpUrl, 'POST', '/api/webhooks', { url: 'http://127.0.0.1:9/hook' })
    fleet = await Fleet.connect(mqttUrl, devices)
    fleet.start(PER_SECOND)
  }, 120_000)

  afterAll(async () => {
    await fleet?.close()
    server?.signal('SIGKILL')
    await server?.exited
    await proxy?.stop()
    await db?.drop()
  })

  const modes: ProxyMode[] = ['close', 'refuse', 'reset', 'blackhole']

  it.each(modes)('the database %s: the server stays up, holds back devices, says down within a second, and resumes by itself', async (mode) => {
    await sleep(800)
    const before = fleet.ackedCount
    await proxy.set(mode)
    await sleep(1500)

    const asked = Date.now()
    const ready = await fetch(`${httpUrl}/readyz`)
    expect(Date.now() - asked).toBeLessThan(1000)
    expect(ready.status).toBe(503)
    expect(await ready.json()).toMatchObject({ database: 'down', broker: 'up' })

    // while nothing commits, nothing is acknowledged, and what is held stays within the budget
    const duringOutage = fleet.ackedCount
    await sleep(1500)
    expect(fleet.ackedCount - duringOutage).toBe(0)
    const metrics = await (await fetch(`${httpUrl}/metrics`)).text()
    expect(metric(metrics, 'trackstream_ingest_inflight_peak')).toBeLessThanOrEqual(DEVICES * PER_DEVICE)
    expect(metric(metrics, 'trackstream_ingest_inflight')).toBeGreaterThan(0)

    await proxy.set('pass')
    await sleep(mode === 'blackhole' ? 4000 : 2500)
    expect(server.child.exitCode).toBeNull()
    expect(fleet.ackedCount).toBeGreaterThan(before)
    expect((await fetch(`${httpUrl}/readyz`)).status).toBe(200)
  }, 60_000)

  it('the database is slow (every packet 300 ms late): the server keeps acknowledging, only later', async () => {
    await proxy.set('slow')
    const during = fleet.ackedCount
    await sleep(3000)
    expect(fleet.ackedCount).toBeGreaterThan(during)
    await proxy.set('pass')
    expect(server.child.exitCode).toBeNull()
  }, 30_000)

  it('an administrator terminates every connection of trackstream\'s (57P01): it reconnects and goes on', async () => {
    const before = fleet.ackedCount
    const { rows } = await db.pool.query<{ n: number }>(
      "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = 'trackstream' AND datname = current_database()")
    expect(rows[0]?.n).toBeGreaterThan(0)
    await sleep(2000)
    expect(fleet.ackedCount).toBeGreaterThan(before)
    expect((await fetch(`${httpUrl}/readyz`)).status).toBe(200)
    expect(server.child.exitCode).toBeNull()
  }, 30_000)

  it('afterwards every publish is acknowledged, each acknowledged fix is stored exactly once, and the process never exited', async () => {
    fleet.stopPublishing()
    await fleet.settle(30_000)
    expect(fleet.failed).toBe(0)
    expect(fleet.ackedCount).toBe(fleet.sent)
    expect(await fleet.missing(db.pool)).toEqual([])
    expect(await duplicatePositions(db.pool)).toBe(0)
    expect(server.child.exitCode).toBeNull()
    expect(server.output).not.toMatch(/Unhandled 'error' event|uncaught/i)
  }, 60_000)
})
