import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { hashSecret } from '../../gateway/secrets.js'
import { detectDatabase, flavourOf } from '../../server/db/flavour.js'
import { migrate } from '../../server/db/migrate.js'
import { pgSql } from '../../server/db/sql.js'
import { freePort } from '../../server/free-port.js'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const BENCH_API_KEY = 'bench-api-key-0123456789'
export const DEVICE_SECRET = 'bench-device-secret'
const LOCAL = 'postgres://postgres@127.0.0.1:5432/postgres'

export interface BenchDatabase {
  url: string
  pool: pg.Pool
  server: string
  drop: () => Promise<void>
}

/** A fresh, migrated database on BENCH_DATABASE_URL's server, or the local one on 5432. */
export async function benchDatabase (name: string): Promise<BenchDatabase> {
  const adminUrl = process.env.BENCH_DATABASE_URL ?? LOCAL
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 })
  try {
    await admin.connect()
  } catch {
    throw new Error(`the bench needs a PostgreSQL: nothing answered on ${adminUrl} (set BENCH_DATABASE_URL)`)
  }
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  const client = new pg.Client({ connectionString: url.toString() })
  await client.connect()
  const sql = pgSql(client)
  const info = await detectDatabase(sql)
  await migrate(sql, flavourOf(info))
  await client.end()
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 })
  return {
    url: url.toString(),
    pool,
    server: `${info.server}${info.timescaledb === null ? '' : ` + TimescaleDB ${info.timescaledb}`}`,
    drop: async () => {
      await pool.end()
      const again = new pg.Client({ connectionString: adminUrl })
      await again.connect()
      await again.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await again.end()
    }
  }
}

/** Trackers bench-0 … bench-(n-1), each in a vehicle, all with one secret: registered by SQL, before the server starts. */
export async function seedTrackers (db: BenchDatabase, count: number): Promise<string[]> {
  await db.pool.query(
    `INSERT INTO devices (id, kind, secret_hash) SELECT 'bench-' || i, 'tracker', $2 FROM generate_series(0, $1 - 1) i
     ON CONFLICT DO NOTHING`, [count, hashSecret(DEVICE_SECRET)])
  await db.pool.query(
    `INSERT INTO vehicles (id, name, device_id) SELECT 'V' || i, 'Van ' || i, 'bench-' || i FROM generate_series(0, $1 - 1) i
     ON CONFLICT DO NOTHING`, [count])
  return Array.from({ length: count }, (_, i) => `bench-${i}`)
}

/**
 * The tracking engine's working set: `fences` station geofences on the fleet's route (some of
 * them polygons), and `perVehicle` parcels aboard each vehicle, out for delivery, so every
 * crossing gives milestones and every sweep has parcels to look at.
 */
export async function seedEngine (db: BenchDatabase, vehicles: number, perVehicle: number, fences: number, route: Array<{ lat: number, lon: number }>): Promise<void> {
  const centres = Array.from({ length: fences }, (_, k) => {
    const point = route[(k * 13) % route.length] as { lat: number, lon: number }
    const shift = (k % 100) * 0.001
    return { lat: point.lat + shift, lon: point.lon + shift }
  })
  await db.pool.query(
    `INSERT INTO stations (id, name, kind, lat, lon, city, country)
     SELECT 'F' || k, 'Hub ' || k, 'hub', lat, lon, 'Poreč', 'HR' FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS t(lat, lon, k)`,
    [centres.map((c) => c.lat), centres.map((c) => c.lon)])
  const shapes = centres.map((c, k) => k % 4 === 3
    ? { type: 'polygon', ring: [[c.lon - 0.002, c.lat - 0.0015], [c.lon + 0.002, c.lat - 0.0015], [c.lon + 0.002, c.lat + 0.0015], [c.lon - 0.002, c.lat + 0.0015]] }
    : { type: 'circle', lat: c.lat, lon: c.lon, radiusM: 150 })
  await db.pool.query(
    `INSERT INTO geofences (id, name, kind, station_id, shape, on_enter, on_exit)
     SELECT 'F' || k, 'Hub ' || k, 'station', 'F' || k, shape, 'arrived_at_facility', 'departed_facility'
       FROM unnest($1::jsonb[]) WITH ORDINALITY AS t(shape, k)`,
    [shapes.map((shape) => JSON.stringify(shape))])
  await db.pool.query(
    `WITH p AS (
       INSERT INTO parcels (id, tracking_number, public_token, status, status_at, dest_city, dest_country, dest_lat, dest_lon, origin_country)
       SELECT gen_random_uuid(), 'E' || n, md5(random()::text) || md5(n::text), 'out_for_delivery', now() - interval '1 hour', 'Pula', 'HR',
              44.87 + (n % 100) / 1000.0, 13.85, 'CN'
         FROM generate_series(0, $1::int * $2::int - 1) n
       RETURNING id, substr(tracking_number, 2)::int / $2::int AS vehicle)
     INSERT INTO custody (item, carrier, since) SELECT 'parcel:' || id, 'vehicle:V' || vehicle, now() - interval '1 hour' FROM p`,
    [vehicles, perVehicle])
  await db.pool.query(
    `INSERT INTO milestones (parcel_id, code, time, source) SELECT id, 'out_for_delivery', status_at, 'api' FROM parcels WHERE tracking_number LIKE 'E%'`)
}

export interface ReaderSetup {
  ids: string[]
  /** the EPCs each reader will see, aligned with ids */
  tags: string[][]
  /** public tracking tokens of the parcels, in reader order */
  tokens: string[]
}

/** Readers at stations of their own, each with `perReader` parcels whose tags it will read. */
export async function seedReaders (db: BenchDatabase, readers: number, perReader: number): Promise<ReaderSetup> {
  const hash = hashSecret(DEVICE_SECRET)
  await db.pool.query(
    `INSERT INTO stations (id, name, kind, lat, lon, city, country)
     SELECT 'S' || i, 'Sort ' || i, 'sort_centre', 45.2 + i / 1000.0, 13.7, 'Poreč', 'HR' FROM generate_series(0, $1 - 1) i`, [readers])
  await db.pool.query(`INSERT INTO devices (id, kind, secret_hash) SELECT 'reader-' || i, 'reader', $2 FROM generate_series(0, $1 - 1) i`, [readers, hash])
  await db.pool.query(`INSERT INTO readers (device_id, station_id, milestone) SELECT 'reader-' || i, 'S' || i, 'arrived_at_facility' FROM generate_series(0, $1 - 1) i`, [readers])
  const { rows } = await db.pool.query<{ reader: number, epc: string, token: string }>(
    `INSERT INTO parcels (id, tracking_number, epc, public_token, status, status_at, dest_city, dest_country)
     SELECT gen_random_uuid(), 'R' || n, upper('E2' || lpad(to_hex(n), 22, '0')), md5(random()::text) || md5(n::text), 'info_received', now() - interval '1 day', 'Pula', 'HR'
       FROM generate_series(0, $1::int * $2::int - 1) n
     RETURNING (substr(tracking_number, 2)::int / $2::int) AS reader, epc, public_token AS token`, [readers, perReader])
  const tags: string[][] = Array.from({ length: readers }, () => [])
  for (const row of rows) tags[row.reader]?.push(row.epc)
  return { ids: Array.from({ length: readers }, (_, i) => `reader-${i}`), tags, tokens: rows.map((r) => r.token) }
}

export async function countRows (db: BenchDatabase, table: 'positions' | 'rfid_reads' | 'milestones'): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)
  return rows[0]?.n ?? 0
}

export interface Target {
  name: string
  pid: number
  host: string
  mqttPort: number
  httpPort: number
  stop: () => Promise<void>
}

/**
 * The server process every scenario runs: `npm start`'s command without the dashboard build, on
 * free ports, with the bench's API key; its output piped for the caller to read.
 */
export async function spawnTrackstream (databaseUrl: string, env: Record<string, string> = {}): Promise<{ child: ChildProcess, httpPort: number, mqttPort: number }> {
  const [httpPort, mqttPort] = [await freePort(), await freePort()]
  // BENCH_CPU_PROFILE=<dir>: write a V8 CPU profile of the server, for finding what to fix
  const profile = process.env.BENCH_CPU_PROFILE === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROFILE]
  // BENCH_NODE_FLAGS="--trace-gc …": more flags for the server's node, for the same purpose
  const flags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter((flag) => flag !== '')
  const child = spawn(process.execPath, [...profile, ...flags, '--import', 'tsx', 'server/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      HTTP_PORT: String(httpPort),
      MQTT_PORT: String(mqttPort),
      HOST: '127.0.0.1',
      API_KEY: BENCH_API_KEY,
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      // the bench's load comes from one address and one key: the rate limits would refuse most of
      // it; bench access measures what they cost
      TRACKING_RATE_PER_MINUTE: '0',
      API_RATE_PER_MINUTE: '0',
      ...env
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  return { child, httpPort, mqttPort }
}

/** trackstream as `npm start` runs it (without the dashboard build), in a process of its own. */
export async function startTrackstream (databaseUrl: string, env: Record<string, string> = {}): Promise<Target> {
  const { child, httpPort, mqttPort } = await spawnTrackstream(databaseUrl, env)
  await waitForLine(child, /trackstream is running/)
  return { name: 'trackstream', pid: child.pid ?? 0, host: '127.0.0.1', mqttPort, httpPort, stop: async () => { await stopChild(child, 'SIGINT') } }
}

/** The broker with nothing behind it: aedes with its default hooks, acknowledging at once. */
export async function startAedesAlone (): Promise<Target> {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/baselines/aedes-alone.ts', String(port)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  await waitForLine(child, /listening/)
  return { name: 'aedes alone', pid: child.pid ?? 0, host: '127.0.0.1', mqttPort: port, httpPort: 0, stop: async () => { await stopChild(child, 'SIGTERM') } }
}

/** Mosquitto, when installed: the C broker as a reference for what MQTT alone costs here. */
export async function startMosquitto (extraConfig = ''): Promise<Target | null> {
  const binary = ['/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto', '/usr/bin/mosquitto'].find((candidate) => existsSync(candidate))
  if (binary === undefined) return null
  const port = await freePort()
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-mosquitto-'))
  const config = path.join(dir, 'mosquitto.conf')
  await writeFile(config, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_connections -1\nlog_dest none\n${extraConfig}`)
  const child = spawn(binary, ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] })
  await waitForPort(port)
  return { name: 'mosquitto', pid: child.pid ?? 0, host: '127.0.0.1', mqttPort: port, httpPort: 0, stop: async () => { await stopChild(child, 'SIGTERM') } }
}

/** A Redis of the bench's own on a free port, keeping nothing on disk, for cluster mode. */
export async function startRedis (): Promise<{ url: string, pid: number, stop: () => Promise<void> } | null> {
  const binary = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((candidate) => existsSync(candidate))
  if (binary === undefined) return null
  const port = await freePort()
  const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout?.resume()
  child.stderr?.resume()
  await waitForPort(port)
  return { url: `redis://127.0.0.1:${port}`, pid: child.pid ?? 0, stop: async () => { await stopChild(child, 'SIGTERM') } }
}

async function waitForLine (child: ChildProcess, pattern: RegExp, timeoutMs = 120_000): Promise<void> {
  let output = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`${pattern} did not appear:\n${output.slice(-2000)}`)) }, timeoutMs)
    const onData = (chunk: Buffer): void => {
      output += chunk.toString()
      if (pattern.test(output)) { clearTimeout(timer); resolve() }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`exited with ${code} before ${pattern}:\n${output.slice(-2000)}`)) })
  })
  // keep draining so a chatty child never blocks on a full pipe
  child.stdout?.resume()
  child.stderr?.resume()
}

async function waitForPort (port: number, timeoutMs = 10_000): Promise<void> {
  const net = await import('node:net')
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true) })
      socket.on('error', () => { resolve(false) })
    })
    if (open) return
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

async function stopChild (child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill(signal)
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
  await exited
  clearTimeout(timer)
}
