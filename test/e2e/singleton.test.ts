import { afterEach, describe, expect, it } from 'vitest'
import { eventually } from '../support/clients.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'
import { freePort, killAll, startServerProcess, type Subprocess } from '../support/processes.js'
import { TEST_API_KEY } from '../support/server.js'

interface Instance { process: Subprocess, httpUrl: string }

async function startInstance (db: TestDatabase, processes: Subprocess[]): Promise<Instance> {
  const httpPort = await freePort()
  const started = startServerProcess({
    DATABASE_URL: db.url,
    HOST: '127.0.0.1',
    HTTP_PORT: String(httpPort),
    MQTT_PORT: String(await freePort()),
    API_KEY: TEST_API_KEY,
    EXCEPTION_SWEEP_MS: '100'
  })
  processes.push(started)
  await started.waitForOutput(/trackstream is running/)
  return { process: started, httpUrl: `http://127.0.0.1:${httpPort}` }
}

/** What an instance says of the lease: whether it holds it, and how many exception sweeps it has run. */
async function lease (instance: Instance): Promise<{ held: boolean, sweeps: number }> {
  const metrics = await (await fetch(`${instance.httpUrl}/metrics`)).text()
  return {
    held: /^trackstream_singleton_held 1$/m.test(metrics),
    sweeps: Number(/^trackstream_singleton_runs_total\{work="exception sweep"\} (\d+)$/m.exec(metrics)?.[1] ?? 0)
  }
}

/** The two instances, the one holding the lease first, once exactly one does. */
async function holderFirst (first: Instance, second: Instance): Promise<[Instance, Instance]> {
  return await eventually(async () => {
    const states = [await lease(first), await lease(second)]
    expect(states.filter((state) => state.held)).toHaveLength(1)
    return states[0]?.held === true ? [first, second] : [second, first]
  })
}

describe('work that runs once across instances', () => {
  let processes: Subprocess[] = []
  let db: TestDatabase | undefined

  afterEach(async () => {
    await killAll(processes)
    processes = []
    await db?.drop()
  })

  it('runs on one of two instances, and moves to the survivor within 10 s of a kill -9', async () => {
    db = await createTestDatabase()
    const first = await startInstance(db, processes)
    const second = await startInstance(db, processes)
    const [holder, other] = await holderFirst(first, second)
    // the holder sweeps; the other, which has never held the lease, never does
    await eventually(async () => { expect((await lease(holder)).sweeps).toBeGreaterThan(3) })
    expect(await lease(other)).toEqual({ held: false, sweeps: 0 })

    holder.process.signal('SIGKILL')
    await holder.process.exited
    const killedAt = Date.now()
    await eventually(async () => { expect((await lease(other)).held).toBe(true) }, 10_000)
    const movedMs = Date.now() - killedAt
    const sweepsThen = (await lease(other)).sweeps
    await eventually(async () => { expect((await lease(other)).sweeps).toBeGreaterThan(sweepsThen) })
    console.log(`once-only work moved to the survivor ${movedMs} ms after the holder was killed`)
    expect(movedMs).toBeLessThan(10_000)
  })

  it('hands the lease over at once on a clean stop', async () => {
    db = await createTestDatabase()
    const first = await startInstance(db, processes)
    const second = await startInstance(db, processes)
    const [holder, other] = await holderFirst(first, second)
    holder.process.signal('SIGTERM')
    expect((await holder.process.exited).code).toBe(0)
    await eventually(async () => { expect((await lease(other)).held).toBe(true) }, 5000)
  })
})
