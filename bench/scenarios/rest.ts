import { randomBytes, randomUUID } from 'node:crypto'
import { fork, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { freePort } from '../../server/free-port.js'
import { pidsOf, Sampler, type ProcessUsage } from '../lib/sampler.js'
import { BENCH_API_KEY, benchDatabase, ROOT, startTrackstream } from '../lib/stage.js'
import { nextMessage } from '../lib/workers.js'

export interface RestOptions {
  parcels: number
  connections: number
  durationS: number
}

export interface RestRun {
  target: string
  requestsPerS: number
  latencyMs: { p50: number, p97_5: number, p99: number, max: number }
  non2xx: number
  errors: number
  usage: Record<string, ProcessUsage>
}

/** The buyer's tracking endpoint and the ops timeline, against the smallest Fastify route. */
export async function rest (options: RestOptions, log: (line: string) => void): Promise<{ database: string, runs: RestRun[] }> {
  const runs: RestRun[] = []
  const port = await freePort()
  const hello = spawn(process.execPath, ['--import', 'tsx', 'bench/baselines/fastify-hello.ts', String(port)], { cwd: ROOT, stdio: 'ignore' })
  await new Promise((resolve) => setTimeout(resolve, 2500))
  runs.push(await load('fastify hello world', hello.pid ?? 0, `http://127.0.0.1:${port}`, ['/'], {}, options))
  hello.kill()
  log(`fastify hello world: ${runs[0]?.requestsPerS} req/s`)

  const db = await benchDatabase('trackstream_bench')
  try {
    const parcels = await seedParcels(db.pool, options.parcels)
    const target = await startTrackstream(db.url)
    const base = `http://127.0.0.1:${target.httpPort}`
    runs.push(await load('public tracking (/api/track/<token>)', target.pid, base, parcels.map((p) => `/api/track/${p.token}`), {}, options))
    log(`public tracking: ${runs[1]?.requestsPerS} req/s, p99 ${runs[1]?.latencyMs.p99} ms`)
    runs.push(await load('ops timeline (/api/parcels/<id>/timeline)', target.pid, base, parcels.map((p) => `/api/parcels/${p.id}/timeline`),
      { authorization: `Bearer ${BENCH_API_KEY}` }, options))
    log(`ops timeline: ${runs[2]?.requestsPerS} req/s, p99 ${runs[2]?.latencyMs.p99} ms`)
    await target.stop()
    return { database: db.server, runs }
  } finally {
    await db.drop()
  }
}

export async function load (name: string, pid: number, base: string, paths: string[], headers: Record<string, string>, options: RestOptions): Promise<RestRun> {
  const worker = fork(fileURLToPath(new URL('../lib/autocannon-worker.ts', import.meta.url)), [],
    { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  worker.send({ base, paths, headers, connections: options.connections, seconds: options.durationS })
  const sampler = new Sampler([
    { name: 'server', pids: () => [pid] },
    { name: 'autocannon', pids: () => [worker.pid ?? 0] },
    { name: 'postgres', pids: () => pidsOf('postgres') }
  ])
  sampler.start()
  const result = await nextMessage<{ type: 'done' } & Omit<RestRun, 'target' | 'usage'>>(worker, 'done')
  return { target: name, requestsPerS: result.requestsPerS, latencyMs: result.latencyMs, non2xx: result.non2xx, errors: result.errors, usage: sampler.stop() }
}

/** Parcels with a realistic journey: registered, arrived, sorted, departed, out for delivery. */
export async function seedParcels (pool: import('pg').Pool, count: number): Promise<Array<{ id: string, token: string }>> {
  await pool.query("INSERT INTO stations (id, name, kind, lat, lon, city, country) VALUES ('HUB', 'Hub', 'hub', 45.27, 13.71, 'Poreč', 'HR')")
  const parcels = Array.from({ length: count }, (_, i) => ({ id: randomUUID(), token: randomBytes(16).toString('base64url'), number: `BENCH${i}` }))
  await pool.query(
    `INSERT INTO parcels (id, tracking_number, public_token, status, status_at, dest_city, dest_country)
     SELECT id, num, token, 'out_for_delivery', now(), 'Pula', 'HR' FROM unnest($1::uuid[], $2::text[], $3::text[]) AS t(id, num, token)`,
    [parcels.map((p) => p.id), parcels.map((p) => p.number), parcels.map((p) => p.token)])
  await pool.query(
    `INSERT INTO milestones (parcel_id, code, time, station_id, source)
     SELECT p.id, c.code, now() - c.ago, 'HUB', 'rfid' FROM unnest($1::uuid[]) AS p(id)
     CROSS JOIN (VALUES ('info_received', interval '3 days'), ('arrived_at_facility', interval '2 days'), ('sorted', interval '47 hours'),
                        ('departed_facility', interval '1 day'), ('out_for_delivery', interval '2 hours')) AS c(code, ago)`,
    [parcels.map((p) => p.id)])
  return parcels
}
