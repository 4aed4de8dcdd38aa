import { fork, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { Fleet } from '../lib/fleet.js'
import type { RunPlan } from '../lib/fleet-protocol.js'
import { loadRoute } from '../lib/routes.js'
import { pidsOf, Sampler } from '../lib/sampler.js'
import { sampleParcels, seedParcels, type ParcelSample, type ParcelSeed } from '../lib/seed-parcels.js'
import { BENCH_API_KEY, benchDatabase, countRows, DEVICE_SECRET, seedEngine, seedTrackers, spawnTrackstream, type BenchDatabase } from '../lib/stage.js'
import { nextMessage } from '../lib/workers.js'
import { commitStats, ingest, median, type IngestOptions, type TargetRun } from './ingest.js'
import type { RestRun } from './rest.js'

export interface ParcelsOptions {
  parcels: number
  /** seconds of idling (nothing sent) on the big database, over which the sweeps' CPU is measured */
  idleS: number
  /** autocannon seconds per endpoint (after a warm-up pass of a quarter of it) */
  durationS: number
  /** autocannon connections for the buyers' tracking endpoint */
  connections: number
  /** for ops search: the people at an ops desk, fewer than the buyers (10) */
  searchConnections: number
  /**
   * distinct parcels (half on their way) the buyers and the ops desk also ask for on the big
   * database, beyond the like-for-like runs that ask for as many as the small database holds
   */
  sample: number
  /** how long the server may take to answer /readyz before it counts as not started */
  readyTimeoutS: number
  /** the durable ingest with the tracking engine loaded, on top of the parcels, and without (on an empty database), same run */
  ingest: IngestOptions | null
}

export interface ServerStart {
  /** from spawning the process to its "trackstream is running" banner; null if it never came */
  bannerS: number | null
  /** from spawning the process to the first 200 from /readyz (polled every 100 ms); null if it never came */
  readyS: number | null
  /** resident memory once ready, and the process's high-water mark by then (loading included) */
  rssReadyMiB: number | null
  rssPeakMiB: number | null
  /** why it did not start, with the end of its output, and when it gave up or was given up on */
  error: string | null
  failedAfterS: number | null
}

export interface IdleRun {
  seconds: number
  /** % of one core over the window: the server process, and its connections' PostgreSQL backends */
  cpuPercent: { server: number, database: number }
  /** resident memory at the end of the window, the highest sampled in it, and the process's high-water mark */
  rssAfterMiB: number | null
  rssMaxMiB: number
  rssPeakMiB: number | null
  /** the server exited during the window */
  error: string | null
}

export interface ParcelsPhase {
  /** what the database held */
  seed: ParcelSeed
  /** distinct parcels asked for, on their way and delivered, like for like: as many as the small database has */
  asked: { transit: number, delivered: number }
  start: ServerStart
  idle: IdleRun | null
  /** public tracking, then ops search, like for like; empty when the server did not start */
  runs: RestRun[]
  /** the same, across `options.sample` distinct parcels (big database only): beyond what any cache holds */
  spread: { asked: { transit: number, delivered: number }, runs: RestRun[] } | null
  error: string | null
}

export interface ParcelsIngest {
  /** the same ingest on an empty database without the engine: the baseline */
  plain: TargetRun | null
  /** on the seeded database, with geofences on the route and parcels aboard every van */
  engine: TargetRun | null
  start: ServerStart | null
  error: string | null
}

export interface ParcelsResult {
  database: string
  /** the same endpoints on a database of a thousand parcels, same run */
  empty: ParcelsPhase
  loaded: ParcelsPhase
  ingest: ParcelsIngest | null
}

export const TRACKING = 'public tracking (/api/track/<token>)'
export const SEARCH = 'ops search (/api/search?q=<prefix or EPC>)'
/** the "empty" database: enough parcels to ask for */
const EMPTY_PARCELS = 1000
/** the empty database's idle window: a baseline for CPU and memory, not itself a target */
const EMPTY_IDLE_S = 30
const WARMUP_S = 5
/** as the engine scenario: the simulated vans are fast, so a crossing needs only a short dwell */
const ENGINE_ENV = { GEOFENCE_DWELL_MS: '1000', GEOFENCE_HYSTERESIS_M: '10' }

/**
 * A million parcels or ten (most delivered, a tenth on their way, some aboard vans, some stalled):
 * how long the server takes to be ready, its memory after start and after minutes of idle sweeps,
 * their CPU, and the public tracking endpoint and ops search under autocannon, against the same on
 * a database of a thousand parcels measured in the same run; optionally the durable ingest with
 * the engine loaded on top of them, against the same ingest on an empty database.
 */
export async function parcels (options: ParcelsOptions, log: (line: string) => void): Promise<ParcelsResult> {
  const big = await benchDatabase('trackstream_bench_parcels')
  try {
    log(`seeding ${options.parcels.toLocaleString('en-US')} parcels`)
    const seed = await seedParcels(big, { parcels: options.parcels }, log)

    const empty = await emptyBaseline(options, log)
    // like for like: as many distinct parcels of each kind as the small database gave; then many more
    const alike = await sampleParcels(big.pool, seed, empty.asked)
    const half = Math.ceil(options.sample / 2)
    const spread = options.sample > empty.asked.transit + empty.asked.delivered ? await sampleParcels(big.pool, seed, { transit: half, delivered: half }) : null
    log(`${options.parcels.toLocaleString('en-US')} parcels: starting the server`)
    const loaded = await measure(big, seed, alike, spread, options, options.idleS, log)
    const onTop = options.ingest === null ? null : await ingestOnTop(big, options.ingest, loaded, options, log)
    return { database: big.server, empty, loaded, ingest: onTop }
  } finally {
    await big.drop()
  }
}

async function emptyBaseline (options: ParcelsOptions, log: (line: string) => void): Promise<ParcelsPhase> {
  const db = await benchDatabase('trackstream_bench_parcels_empty')
  try {
    const seed = await seedParcels(db, { parcels: EMPTY_PARCELS }, () => {})
    // every parcel it has
    const sample = await sampleParcels(db.pool, seed, { transit: EMPTY_PARCELS, delivered: EMPTY_PARCELS })
    log(`empty database (${EMPTY_PARCELS.toLocaleString('en-US')} parcels): starting the server`)
    return await measure(db, seed, sample, null, options, Math.min(EMPTY_IDLE_S, options.idleS), log)
  } finally {
    await db.drop()
  }
}

/** Start, idle, then the two endpoints, on one database; whatever fails is reported, not thrown. */
async function measure (db: BenchDatabase, seed: ParcelSeed, sample: ParcelSample, spread: ParcelSample | null, options: ParcelsOptions, idleS: number, log: (line: string) => void): Promise<ParcelsPhase> {
  const label = `${seed.parcels.toLocaleString('en-US')} parcels`
  const server = await launch(db.url, {}, options.readyTimeoutS)
  const asked = (s: ParcelSample): { transit: number, delivered: number } => ({ transit: s.transit, delivered: s.delivered })
  const phase: ParcelsPhase = {
    seed,
    asked: asked(sample),
    start: server.start,
    idle: null,
    runs: [],
    spread: spread === null ? null : { asked: asked(spread), runs: [] },
    error: server.start.error
  }
  if (server.start.error !== null) {
    log(`${label}: the server did not start: ${server.start.error.split('\n')[0] ?? ''}`)
    return phase
  }
  log(`${label}: banner after ${server.start.bannerS} s, ready after ${server.start.readyS} s, RSS ${server.start.rssReadyMiB} MiB (peak ${server.start.rssPeakMiB} MiB)`)
  const backends = await Backends.watch(db)
  try {
    phase.idle = await idle(server, backends, idleS, log, label)
    log(`${label}: idle ${idleS} s: server ${phase.idle.cpuPercent.server} % of a core, its PostgreSQL backends ${phase.idle.cpuPercent.database} %; RSS after ${phase.idle.rssAfterMiB} MiB`)
    if (phase.idle.error !== null) throw new Error(phase.idle.error)
    const bearer = { authorization: `Bearer ${BENCH_API_KEY}` }
    for (const [runs, from, how] of [[phase.runs, sample, 'like for like'], [phase.spread?.runs, spread, 'spread']] as const) {
      if (runs === undefined || from === null) continue
      const distinct = `${(from.transit + from.delivered).toLocaleString('en-US')} distinct parcels`
      for (const [target, paths, headers, connections] of [
        [TRACKING, from.tokens.map((token) => `/api/track/${token}`), {}, options.connections],
        [SEARCH, from.queries.map((q) => `/api/search?q=${encodeURIComponent(q)}`), bearer, options.searchConnections]
      ] as const) {
        const run = await load(target, server, backends, paths, headers, connections, options)
        runs.push(run)
        log(`${label}: ${target}, ${how}, ${distinct}: ${Math.round(run.requestsPerS)} req/s, p99 ${run.latencyMs.p99} ms, ${run.non2xx} non-2xx, ${run.errors} errors`)
      }
    }
  } catch (error) {
    phase.error = (error as Error).message
    log(`${label}: ${phase.error}`)
  } finally {
    await backends.close()
    await server.stop()
  }
  return phase
}

/** The PostgreSQL backends serving the server: every client backend on its database but the watcher's own (the bench pool sits idle). */
class Backends {
  private constructor (private readonly client: pg.Client) {}

  static async watch (db: BenchDatabase): Promise<Backends> {
    const client = new pg.Client({ connectionString: db.url, application_name: 'bench-monitor' })
    await client.connect()
    return new Backends(client)
  }

  async pids (): Promise<number[]> {
    const { rows } = await this.client.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()")
    return rows.map((row) => row.pid)
  }

  async close (): Promise<void> {
    await this.client.end()
  }
}

interface Launched {
  pid: number
  httpPort: number
  mqttPort: number
  start: ServerStart
  exited: () => string | null
  stop: () => Promise<void>
}

/**
 * trackstream as startTrackstream in stage.ts runs it (spawnTrackstream), timed from
 * the spawn to its banner and to the first 200 from /readyz, and stopped if it does not get there.
 */
async function launch (databaseUrl: string, env: Record<string, string>, timeoutS: number): Promise<Launched> {
  const spawned = performance.now()
  const { child, httpPort, mqttPort } = await spawnTrackstream(databaseUrl, env)
  const since = (): number => Math.round((performance.now() - spawned) / 100) / 10
  let output = ''
  let bannerS: number | null = null
  // read everything as it comes, so a chatty server never blocks on a full pipe
  const onData = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-64_000)
    if (bannerS === null && output.includes('trackstream is running')) bannerS = since()
  }
  child.stdout?.on('data', onData)
  child.stderr?.on('data', onData)
  const exited = (): string | null => child.exitCode !== null ? `exit code ${child.exitCode}` : child.signalCode !== null ? `signal ${child.signalCode}` : null
  const stop = async (): Promise<void> => { await stopChild(child) }

  let readyS: number | null = null
  let error: string | null = null
  // the reason, then what the server said: its first line goes on the reason's, for one-line reports
  const because = (reason: string): string => `${reason}: ${tail(output) || '(no output)'}`
  for (;;) {
    const gone = exited()
    if (gone !== null) { error = because(`the server exited (${gone}) before /readyz answered 200`); break }
    if (await answersReady(httpPort)) { readyS = since(); break }
    if (performance.now() - spawned > timeoutS * 1000) { error = because(`no 200 from /readyz within ${timeoutS} s (banner ${bannerS === null ? 'never printed' : `after ${bannerS} s`})`); break }
    await sleep(100)
  }
  const failedAfterS = error === null ? null : since()
  const status = readStatus(child.pid ?? 0)
  if (error !== null) await stop()
  return {
    pid: child.pid ?? 0,
    httpPort,
    mqttPort,
    start: { bannerS, readyS, rssReadyMiB: error === null ? status?.rssMiB ?? null : null, rssPeakMiB: status?.peakMiB ?? null, error, failedAfterS },
    exited,
    stop
  }
}

async function answersReady (port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) })
    await response.arrayBuffer()
    return response.status === 200
  } catch {
    return false
  }
}

/**
 * What the server said last about why it stopped: from its last error (a JSON log line at level
 * error or above, or an error it printed), without stack frames; else its last few lines.
 */
function tail (output: string): string {
  const lines = output.split('\n').filter((line) => line.trim() !== '').map((line) => {
    try {
      const entry = JSON.parse(line) as { level?: number, msg?: string, err?: { message?: string } }
      const message = `${entry.msg ?? ''}${entry.err?.message === undefined ? '' : `: ${entry.err.message}`}`
      return { error: (entry.level ?? 0) >= 50, text: (entry.level ?? 0) >= 50 ? message : `(log) ${message}` }
    } catch {
      return { error: /^(trackstream: |\S*Error\b)/.test(line), text: line }
    }
  })
  const last = lines.findLastIndex((line) => line.error)
  const excerpt = last < 0 ? lines.slice(-5) : lines.slice(last).filter((line) => !/^\s+at /.test(line.text))
  return excerpt.slice(0, 12).map((line) => line.text).join('\n').slice(0, 3000)
}

async function stopChild (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGINT')
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
  await exited
  clearTimeout(timer)
}

/** Nothing sent for `seconds`: what the server's timers (sweeps, refreshes) cost, here and in PostgreSQL. */
async function idle (server: Launched, backends: Backends, seconds: number, log: (line: string) => void, label: string): Promise<IdleRun> {
  const serverCpu = new CpuMeter()
  const databaseCpu = new CpuMeter()
  let rssMax = 0
  let error: string | null = null
  const started = performance.now()
  serverCpu.sample([server.pid])
  databaseCpu.sample(await backends.pids())
  for (let second = 1; second <= seconds; second++) {
    await sleep(Math.max(0, started + second * 1000 - performance.now()))
    serverCpu.sample([server.pid])
    databaseCpu.sample(await backends.pids())
    rssMax = Math.max(rssMax, readStatus(server.pid)?.rssMiB ?? 0)
    const gone = server.exited()
    if (gone !== null) { error = `the server exited (${gone}) while idle`; break }
    if (second % 60 === 0 && second < seconds) log(`${label}: idle ${second} of ${seconds} s`)
  }
  const elapsed = (performance.now() - started) / 1000
  const status = readStatus(server.pid)
  return {
    seconds: Math.round(elapsed),
    cpuPercent: { server: serverCpu.percentOver(elapsed), database: databaseCpu.percentOver(elapsed) },
    rssAfterMiB: status?.rssMiB ?? null,
    rssMaxMiB: rssMax,
    rssPeakMiB: status?.peakMiB ?? null,
    error
  }
}

const TICKS = 100 // USER_HZ on Linux

/**
 * CPU time of a changing set of processes (PostgreSQL backends come and go with the server's pool):
 * per process, only what it used while watched, counted from zero if it started after the first look.
 */
class CpuMeter {
  private readonly seen = new Map<number, number>()
  private readonly from = uptimeTicks()
  private ticks = 0

  sample (pids: number[]): void {
    for (const pid of pids) {
      const stat = readStat(pid)
      if (stat === undefined) continue
      const before = this.seen.get(pid) ?? (stat.startedAt >= this.from ? 0 : stat.ticks)
      this.ticks += stat.ticks - before
      this.seen.set(pid, stat.ticks)
    }
  }

  percentOver (seconds: number): number {
    return seconds <= 0 ? 0 : Math.round(this.ticks / TICKS / seconds * 1000) / 10
  }
}

function uptimeTicks (): number {
  return Math.floor(Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * TICKS)
}

function readStat (pid: number): { ticks: number, startedAt: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // after the command name, which may hold spaces: 14 utime, 15 stime, 22 starttime (ticks after boot)
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { ticks: Number(fields[11]) + Number(fields[12]), startedAt: Number(fields[19]) }
  } catch {
    return undefined
  }
}

function readStatus (pid: number): { rssMiB: number, peakMiB: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0)
    return { rssMiB: Math.round(kb('VmRSS') / 1024), peakMiB: Math.round(kb('VmHWM') / 1024) }
  } catch {
    return undefined
  }
}

/** autocannon in its own process, as the rest scenario runs it: a random path of the list per request. */
async function load (target: string, server: Launched, backends: Backends, paths: readonly string[], headers: Record<string, string>, connections: number, options: ParcelsOptions): Promise<RestRun> {
  const worker = fork(fileURLToPath(new URL('../lib/autocannon-worker.ts', import.meta.url)), [],
    { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  worker.send({ base: `http://127.0.0.1:${server.httpPort}`, paths, headers, connections, seconds: options.durationS })
  const sampler = new Sampler([
    { name: 'server', pids: () => [server.pid] },
    { name: 'autocannon', pids: () => [worker.pid ?? 0] }
  ])
  // the server's PostgreSQL backends over the whole run, warm-up included, as the sampler does for the others
  const database = new CpuMeter()
  const started = performance.now()
  const watching = setInterval(() => { backends.pids().then((pids) => { database.sample(pids) }, () => {}) }, 1000)
  database.sample(await backends.pids())
  sampler.start()
  try {
    const result = await nextMessage<{ type: 'done' } & Omit<RestRun, 'target' | 'usage'>>(worker, 'done', (options.durationS * 2 + 60) * 1000)
    database.sample(await backends.pids())
    const usage = { ...sampler.stop(), database: { cpuPercent: database.percentOver((performance.now() - started) / 1000), rssMaxMiB: 0 } }
    return { target, requestsPerS: result.requestsPerS, latencyMs: result.latencyMs, non2xx: result.non2xx, errors: result.errors, usage }
  } finally {
    clearInterval(watching)
    sampler.stop()
    if (worker.exitCode === null) worker.kill()
  }
}

/**
 * The durable ingest with the engine loaded, on the seeded database, against the same ingest on an
 * empty database without the engine. The ingest function itself makes and drops a database of its
 * own, so it gives the baseline as it is; the loaded run is its trackstream branch here, on this
 * database: the same fleet, plan, sampling and arithmetic.
 */
async function ingestOnTop (db: BenchDatabase, options: IngestOptions, loaded: ParcelsPhase, parcelsOptions: ParcelsOptions, log: (line: string) => void): Promise<ParcelsIngest> {
  if (loaded.start.error !== null) return { plain: null, engine: null, start: null, error: 'skipped: the server did not start on the seeded database' }
  const result: ParcelsIngest = { plain: null, engine: null, start: null, error: null }
  try {
    log('ingest: the same ingest on an empty database, without the engine')
    const plain = await ingest({ ...options, only: ['trackstream'], engine: undefined }, log)
    result.plain = plain.runs.find((run) => run.target === 'trackstream') ?? null

    const engine = options.engine ?? { fences: 20, parcelsPerVehicle: 10 }
    const ids = await seedTrackers(db, options.devices)
    await seedEngine(db, options.devices, engine.parcelsPerVehicle, engine.fences, loadRoute())
    await db.pool.query('ANALYZE parcels, custody')
    log(`ingest: ${loaded.seed.parcels.toLocaleString('en-US')} parcels, the engine loaded (${engine.fences} geofences, ${engine.parcelsPerVehicle} parcels aboard each van): starting the server`)
    const server = await launch(db.url, ENGINE_ENV, parcelsOptions.readyTimeoutS)
    result.start = server.start
    if (server.start.error !== null) throw new Error(`the server did not start: ${server.start.error}`)
    try {
      result.engine = await ingestRun(db, server, ids, options, log)
    } finally {
      await server.stop()
    }
  } catch (error) {
    result.error = (error as Error).message
    log(`ingest: ${result.error}`)
  }
  return result
}

async function ingestRun (db: BenchDatabase, server: Launched, ids: string[], options: IngestOptions, log: (line: string) => void): Promise<TargetRun> {
  const plan: RunPlan = {
    durationMs: options.durationS * 1000,
    hz: options.hz,
    qos: options.qos,
    fixesPerMessage: options.fixesPerMessage,
    format: options.format,
    window: options.window,
    drainMs: 15_000
  }
  log(`ingest: connecting ${options.devices} devices`)
  const fleet = await Fleet.connect('127.0.0.1', server.mqttPort, ids, DEVICE_SECRET)
  const before = await countRows(db, 'positions')
  // counting 80 million milestones twice would take a while: the new ones are those above the highest id
  const { rows } = await db.pool.query<{ id: string | null }>('SELECT max(id)::text AS id FROM milestones')
  const highest = rows[0]?.id ?? '0'
  const sampler = new Sampler([
    { name: 'trackstream', pids: () => [server.pid] },
    { name: 'load generator', pids: () => fleet.pids },
    { name: 'postgres', pids: () => pidsOf('postgres') }
  ])
  sampler.start()
  log(`ingest: ${options.durationS} s at ${options.hz} Hz × ${options.devices} devices, QoS ${options.qos}, on the parcels with the engine loaded`)
  const result = await fleet.run(plan)
  const usage = sampler.stop()
  // a server that has gone away has no figures to give
  const commits = await commitStats(server.httpPort).catch(() => null)
  fleet.close()
  const committed = await countRows(db, 'positions') - before
  const counted = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM milestones WHERE id > $1::bigint', [highest])
  const milestones = counted.rows[0]?.n ?? 0
  const steady = result.ackedPerSecond.slice(WARMUP_S, options.durationS)
  const run: TargetRun = {
    target: 'trackstream',
    offeredFixesPerS: options.devices * options.hz * options.fixesPerMessage,
    fixesPerSMean: Math.round(steady.reduce((sum, n) => sum + n, 0) / Math.max(1, steady.length)),
    fixesPerS: median(steady),
    fixesPerSMin: Math.min(...steady),
    committedPerS: Math.round(committed / options.durationS),
    lost: options.qos === 0 ? null : Math.max(0, result.ackedFixes - committed),
    milestonesPerS: Math.round(milestones / options.durationS),
    fleet: result,
    usage,
    commits
  }
  log(`ingest: ${run.fixesPerSMean} fixes/s sustained (median second ${run.fixesPerS}, slowest ${run.fixesPerSMin}), ack p99 ${result.ackLatencyMs.p99} ms, ${run.milestonesPerS} milestones/s`)
  return run
}

async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}
