import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { eventually } from '../support/clients.js'
import { duplicatePositions, Fleet, type FleetDevice } from '../support/fleet.js'
import { freePort, startServerProcess, type Subprocess } from '../support/processes.js'
import { registerTracker } from '../support/remote.js'
import { TEST_API_KEY } from '../support/server.js'

async function postmasterPid (dataDir: string): Promise<number> {
  return Number((await readFile(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0])
}

/**
 * With no DATABASE_URL, the PostgreSQL under DATA_DIR is trackstream's own to keep running: when
 * its postmaster is killed -9 under QoS 1 load, trackstream starts it again, on the same port,
 * and everything it held commits without a restart of trackstream.
 */
describe('the embedded PostgreSQL, killed under load', () => {
  let dataDir: string | undefined
  let server: Subprocess | undefined
  let fleet: Fleet | undefined
  let pool: pg.Pool | undefined

  afterAll(async () => {
    await fleet?.close()
    await pool?.end()
    server?.signal('SIGKILL')
    await server?.exited
    if (dataDir !== undefined) {
      // the postmaster outlives a killed trackstream (pg_ctl detached it)
      await postmasterPid(dataDir).then((pid) => { process.kill(pid, 'SIGKILL') }).catch(() => {})
      await rm(dataDir, { recursive: true, force: true })
    }
  })

  it('is started again by trackstream, and nothing acknowledged is lost', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'trackstream-embedded-kill-'))
    await chmod(dataDir, 0o755)
    const [httpPort, mqttPort] = [await freePort(), await freePort()]
    const httpUrl = `http://127.0.0.1:${httpPort}`
    server = startServerProcess({
      DATABASE_URL: '',
      DATA_DIR: dataDir,
      HTTP_PORT: String(httpPort),
      MQTT_PORT: String(mqttPort),
      HOST: '127.0.0.1',
      API_KEY: TEST_API_KEY,
      DB_QUERY_TIMEOUT_MS: '2000',
      DB_CONNECT_TIMEOUT_MS: '1000'
    })
    await server.waitForOutput(/trackstream is running/, 120_000)
    const devices: FleetDevice[] = []
    for (const id of ['van-a', 'van-b', 'van-c', 'van-d']) {
      devices.push({ id, secret: await registerTracker(httpUrl, id) })
    }
    fleet = await Fleet.connect(`mqtt://127.0.0.1:${mqttPort}`, devices)
    fleet.start(200)
    await new Promise((resolve) => setTimeout(resolve, 1000))

    const killed = await postmasterPid(dataDir)
    process.kill(killed, 'SIGKILL')
    await eventually(async () => {
      const ready = await fetch(`${httpUrl}/readyz`)
      expect(ready.status).toBe(503)
    }, 5000)

    // started again, under a new pid, and ingest goes on by itself
    await eventually(async () => {
      const pid = await postmasterPid(dataDir as string)
      expect(pid).not.toBe(killed)
      expect((await fetch(`${httpUrl}/readyz`)).status).toBe(200)
    }, 60_000)
    expect(server.output).toMatch(/embedded PostgreSQL is not running; starting it again/)
    const acked = fleet.ackedCount
    await eventually(async () => { expect(fleet?.ackedCount).toBeGreaterThan(acked + 50) }, 20_000)

    fleet.stopPublishing()
    await fleet.settle(30_000)
    expect(fleet.failed).toBe(0)
    expect(server.child.exitCode).toBeNull()
    const credentials = JSON.parse(await readFile(path.join(dataDir, 'postgres-credentials.json'), 'utf8')) as { password: string }
    const port = Number((await readFile(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[3])
    pool = new pg.Pool({ connectionString: `postgres://postgres:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/trackstream`, max: 2 })
    pool.on('error', () => {})
    expect(await fleet.missing(pool)).toEqual([])
    expect(await duplicatePositions(pool)).toBe(0)
  }, 180_000)
})
