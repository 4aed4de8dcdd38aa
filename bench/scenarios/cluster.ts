import { Fleet } from '../lib/fleet.js'
import type { RunPlan } from '../lib/fleet-protocol.js'
import { pidsOf, Sampler, type ProcessUsage } from '../lib/sampler.js'
import { fleetBox, loadRoute, viewport } from '../lib/routes.js'
import { BENCH_API_KEY, benchDatabase, countRows, DEVICE_SECRET, seedTrackers, startMosquitto, startRedis, startTrackstream, type BenchDatabase, type Target } from '../lib/stage.js'
import { Viewers, type ViewerResult } from '../lib/viewers.js'
import { median } from './ingest.js'

export interface ClusterOptions {
  devices: number
  hz: number
  durationS: number
  /** trackstream processors behind the one Mosquitto, each in the same shared group */
  processors: number
}

export interface ClusterRun {
  target: string
  offeredPerS: number
  /** messages Mosquitto acknowledged to the generator per second over the steady window */
  brokerAckedPerS: number
  /** rows stored per second over the same window (external mode only) */
  storedPerS: number | null
  /** messages Mosquitto acknowledged and never stored, once the processors had drained: must be 0 */
  lost: number | null
  /** how long the processors took after the generator stopped to store the backlog */
  drainS: number | null
  ackLatencyMs: { p50: number | null, p99: number | null }
  usage: Record<string, ProcessUsage>
  /** each processor's own count of what it took from the broker, by outcome, and what it refused, by reason */
  processors: Array<{ outcomes: Record<string, number>, rejects: Record<string, number> }>
}

export interface ClusterResult {
  database: string
  runs: ClusterRun[]
  /** storedPerS of the processors against Mosquitto alone's acknowledged rate, same generator, same run */
  ratioToMosquitto: number | null
}

const WARMUP_S = 5
/** Sessions that keep what they owe the processors, as the README asks of a deployment. */
const BROKER_CONFIG = 'max_queued_messages 1000000\nmax_inflight_messages 0\n'

/**
 * External broker mode: one fix per message at QoS 1 into Mosquitto, first alone (what the broker
 * takes on this machine), then with trackstream processors subscribed in one shared group, storing
 * each message before acknowledging it to Mosquitto. The generator, Mosquitto, the processors and
 * PostgreSQL share the machine's cores.
 */
export async function cluster (options: ClusterOptions, log: (line: string) => void): Promise<ClusterResult> {
  const db = await benchDatabase('trackstream_bench_cluster')
  try {
    const ids = await seedTrackers(db, options.devices)
    const plan: RunPlan = { durationMs: options.durationS * 1000, hz: options.hz, qos: 1, fixesPerMessage: 1, format: 'json', window: 8, drainMs: 15_000 }
    const offeredPerS = options.devices * options.hz
    const runs: ClusterRun[] = []

    const alone = await startMosquitto(BROKER_CONFIG)
    if (alone === null) throw new Error('the cluster bench needs Mosquitto (apt-get install -y mosquitto)')
    runs.push(await runOnce('mosquitto alone', alone, [], db, ids, plan, offeredPerS, log))
    await alone.stop()

    const broker = await startMosquitto(BROKER_CONFIG)
    if (broker === null) throw new Error('Mosquitto went away')
    const processors: Target[] = []
    for (let i = 1; i <= options.processors; i++) {
      processors.push(await startTrackstream(db.url, {
        MQTT_URL: `mqtt://127.0.0.1:${broker.mqttPort}`,
        MQTT_CLIENT_ID: `bench-processor-${i}`,
        MQTT_SHARE_GROUP: 'bench'
      }))
    }
    for (const processor of processors) await ready(processor)
    runs.push(await runOnce(`${options.processors} processors behind mosquitto`, broker, processors, db, ids, plan, offeredPerS, log))
    for (const processor of processors) await processor.stop()
    await broker.stop()

    const external = runs[1]
    const mosquitto = runs[0]
    const ratio = external?.storedPerS == null || mosquitto === undefined ? null : Math.round(external.storedPerS / mosquitto.brokerAckedPerS * 100) / 100
    return { database: db.server, runs, ratioToMosquitto: ratio }
  } finally {
    await db.drop()
  }
}

async function runOnce (name: string, broker: Target, processors: Target[], db: BenchDatabase, ids: string[], plan: RunPlan, offeredPerS: number, log: (line: string) => void): Promise<ClusterRun> {
  log(`${name}: connecting ${ids.length} devices`)
  const fleet = await Fleet.connect(broker.host, broker.mqttPort, ids, DEVICE_SECRET)
  const groups = [
    { name: 'mosquitto', pids: () => [broker.pid] },
    { name: 'load generator', pids: () => fleet.pids },
    ...processors.map((processor, i) => ({ name: `processor ${i + 1}`, pids: () => [processor.pid] })),
    ...(processors.length > 0 ? [{ name: 'postgres', pids: () => pidsOf('postgres') }] : [])
  ]
  const before = await countRows(db, 'positions')
  // stored rows, once a second, for the rate over the same steady window as the acknowledgements
  const stored: number[] = []
  const counter = processors.length === 0 ? undefined : setInterval(() => { void countRows(db, 'positions').then((n) => { stored.push(n) }) }, 1000)
  const sampler = new Sampler(groups)
  sampler.start()
  log(`${name}: ${plan.durationMs / 1000} s at ${plan.hz} Hz × ${ids.length} devices, one fix per message, QoS 1`)
  const result = await fleet.run(plan)
  const usage = sampler.stop()
  clearInterval(counter)
  fleet.close()
  const steady = result.ackedPerSecond.slice(WARMUP_S, plan.durationMs / 1000)
  const brokerAckedPerS = Math.round(steady.reduce((sum, n) => sum + n, 0) / Math.max(1, steady.length))
  let storedPerS: number | null = null
  let lost: number | null = null
  let drainS: number | null = null
  if (processors.length > 0) {
    const window = stored.slice(WARMUP_S, plan.durationMs / 1000)
    storedPerS = window.length < 2 ? null : Math.round(((window.at(-1) ?? 0) - (window[0] ?? 0)) / (window.length - 1))
    // the backlog Mosquitto holds for the processors, stored after the generator stopped
    const stoppedAt = Date.now()
    // done when the count has not moved for 15 s (a processor may pause, reconnecting), or after 3 min
    let last = await countRows(db, 'positions')
    let lastMovedAt = Date.now()
    while (Date.now() - lastMovedAt < 15_000 && Date.now() - stoppedAt < 180_000) {
      await new Promise((resolve) => setTimeout(resolve, 1000))
      const count = await countRows(db, 'positions')
      if (count !== last) lastMovedAt = Date.now()
      last = count
    }
    drainS = Math.round((lastMovedAt - stoppedAt) / 100) / 10
    lost = Math.max(0, result.ackedFixes - (last - before))
  }
  const counts = await Promise.all(processors.map(async (processor) => await processorCounts(processor.httpPort)))
  log(`${name}: generator acknowledged ${result.ackedFixes} in all, ${processors.length > 0 ? `${(await countRows(db, 'positions')) - before} rows stored` : ''}`)
  log(`${name}: Mosquitto acknowledged ${brokerAckedPerS}/s (median second ${median(steady)})${storedPerS === null ? '' : `, stored ${storedPerS}/s, lost ${lost}, backlog drained in ${drainS} s`}`)
  if (counts.length > 0) log(`${name}: processors counted ${JSON.stringify(counts)}`)
  return { target: name, offeredPerS, brokerAckedPerS, storedPerS, lost, drainS, ackLatencyMs: { p50: result.ackLatencyMs.p50, p99: result.ackLatencyMs.p99 }, usage, processors: counts }
}

async function ready (processor: Target): Promise<void> {
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    const status = await fetch(`http://127.0.0.1:${processor.httpPort}/readyz`).then((response) => response.status, () => 0)
    if (status === 200) return
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error('a processor did not subscribe within a minute')
}

async function processorCounts (httpPort: number): Promise<{ outcomes: Record<string, number>, rejects: Record<string, number> }> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text()
  const labelled = (name: string, label: string): Record<string, number> => Object.fromEntries(
    [...text.matchAll(new RegExp(`^${name}\\{${label}="([^"]+)"\\} (\\S+)$`, 'gm'))].map((m) => [m[1] as string, Number(m[2])]))
  return { outcomes: labelled('trackstream_upstream_messages_total', 'outcome'), rejects: labelled('trackstream_rejects_total', 'reason') }
}

export interface ClusterLatencyOptions {
  devices: number
  hz: number
  fixesPerMessage: number
  viewers: number
  durationS: number
}

export interface ClusterLatencyRun {
  target: string
  fixesPerS: number
  /** the viewers on the instance the devices publish to, and on the other one */
  viewers: { same: ViewerResult, other: ViewerResult | null }
  usage: Record<string, ProcessUsage>
}

/**
 * Cluster mode: publish → ops frame, the devices on instance A and the viewers spread over A and
 * B (whose frames cross Redis), against one instance with every viewer, same load, same run.
 */
export async function clusterLatency (options: ClusterLatencyOptions, log: (line: string) => void): Promise<{ database: string, runs: ClusterLatencyRun[] }> {
  const redis = await startRedis()
  if (redis === null) throw new Error('the cluster bench needs redis-server (apt-get install -y redis-server)')
  const db = await benchDatabase('trackstream_bench_cluster')
  try {
    const ids = await seedTrackers(db, options.devices)
    const box = fleetBox(loadRoute())
    const runs: ClusterLatencyRun[] = []
    for (const instances of [1, 2]) {
      const env = { LIVE_TICK_MS: '20', ...(instances === 2 ? { REDIS_URL: redis.url } : {}) }
      const targets: Target[] = []
      for (let i = 0; i < instances; i++) targets.push(await startTrackstream(db.url, env))
      const [a, b] = targets as [Target, Target | undefined]
      const fleet = await Fleet.connect(a.host, a.mqttPort, ids, DEVICE_SECRET)
      const split = b === undefined ? options.viewers : Math.ceil(options.viewers / 2)
      const open = async (target: Target, count: number, offset: number): Promise<Viewers> => await Viewers.open(
        Array.from({ length: count }, () => `ws://127.0.0.1:${target.httpPort}/ws/live`),
        { authorization: `Bearer ${BENCH_API_KEY}` }, Array.from({ length: count }, (_, i) => viewport(box, offset + i)))
      const same = await open(a, split, 0)
      const other = b === undefined ? null : await open(b, options.viewers - split, split)
      const plan = (seconds: number): RunPlan => ({ durationMs: seconds * 1000, hz: options.hz, qos: 1, fixesPerMessage: options.fixesPerMessage, format: 'json', window: 8, drainMs: 5000 })
      await fleet.run(plan(WARMUP_S))
      await same.reset()
      await other?.reset()
      const sampler = new Sampler([
        ...targets.map((target, i) => ({ name: `trackstream ${i === 0 ? 'A' : 'B'}`, pids: () => [target.pid] })),
        { name: 'load generator', pids: () => fleet.pids },
        { name: 'viewers', pids: () => [...same.pids, ...(other?.pids ?? [])] },
        { name: 'postgres', pids: () => pidsOf('postgres') },
        ...(b === undefined ? [] : [{ name: 'redis', pids: () => [redis.pid] }])
      ])
      sampler.start()
      const name = b === undefined ? 'one instance' : 'two instances, frames of A on B through Redis'
      log(`${name}: ${options.devices * options.hz * options.fixesPerMessage} fixes/s offered to ${options.viewers} ops viewers for ${options.durationS} s`)
      const result = await fleet.run(plan(options.durationS))
      const run: ClusterLatencyRun = {
        target: name,
        fixesPerS: Math.round(result.ackedFixes / options.durationS),
        viewers: { same: await same.report(), other: other === null ? null : await other.report() },
        usage: sampler.stop()
      }
      runs.push(run)
      log(`${name}: viewers on A p99 ${run.viewers.same.latencyMs.p99} ms${run.viewers.other === null ? '' : `, on B p99 ${run.viewers.other.latencyMs.p99} ms`}`)
      same.close()
      other?.close()
      fleet.close()
      for (const target of targets) await target.stop()
    }
    return { database: db.server, runs }
  } finally {
    await db.drop()
    await redis.stop()
  }
}

export interface ClusterIngestRun {
  target: string
  /** acknowledged (so committed) fixes per second over the steady window, all fleets together */
  fixesPerS: number
  /** acknowledged fixes missing from the database: must be 0 */
  lost: number
  ackLatencyMs: { p50: number | null, p99: number | null }
  usage: Record<string, ProcessUsage>
}

/**
 * Cluster mode's durable ingest: the same fleet (5 fixes per message, QoS 1) into one instance,
 * then split over two instances on one database and Redis, in the same run.
 */
export async function clusterIngest (options: { devices: number, hz: number, fixesPerMessage: number, durationS: number }, log: (line: string) => void): Promise<{ database: string, runs: ClusterIngestRun[] }> {
  const redis = await startRedis()
  if (redis === null) throw new Error('the cluster bench needs redis-server (apt-get install -y redis-server)')
  const db = await benchDatabase('trackstream_bench_cluster')
  try {
    const ids = await seedTrackers(db, options.devices)
    const plan: RunPlan = { durationMs: options.durationS * 1000, hz: options.hz, qos: 1, fixesPerMessage: options.fixesPerMessage, format: 'json', window: 8, drainMs: 15_000 }
    const runs: ClusterIngestRun[] = []
    for (const instances of [1, 2]) {
      const targets: Target[] = []
      for (let i = 0; i < instances; i++) targets.push(await startTrackstream(db.url, instances === 2 ? { REDIS_URL: redis.url } : {}))
      const share = Math.ceil(ids.length / instances)
      const fleets = await Promise.all(targets.map(async (target, i) => await Fleet.connect(target.host, target.mqttPort, ids.slice(i * share, (i + 1) * share), DEVICE_SECRET)))
      const before = await countRows(db, 'positions')
      const sampler = new Sampler([
        ...targets.map((target, i) => ({ name: `trackstream ${i === 0 ? 'A' : 'B'}`, pids: () => [target.pid] })),
        { name: 'load generator', pids: () => fleets.flatMap((fleet) => fleet.pids) },
        { name: 'postgres', pids: () => pidsOf('postgres') },
        ...(instances === 2 ? [{ name: 'redis', pids: () => [redis.pid] }] : [])
      ])
      sampler.start()
      const name = instances === 1 ? 'one instance' : 'two instances on one database and Redis'
      log(`${name}: ${options.durationS} s at ${options.hz} Hz × ${options.devices} devices, ${options.fixesPerMessage} fixes per message, QoS 1`)
      const results = await Promise.all(fleets.map(async (fleet) => await fleet.run(plan)))
      const usage = sampler.stop()
      for (const fleet of fleets) fleet.close()
      for (const target of targets) await target.stop()
      const committed = await countRows(db, 'positions') - before
      const acked = results.reduce((n, r) => n + r.ackedFixes, 0)
      const perSecond = Array.from({ length: options.durationS }, (_, s) => results.reduce((n, r) => n + (r.ackedPerSecond[s] ?? 0), 0)).slice(WARMUP_S)
      const p99s = results.map((r) => r.ackLatencyMs.p99 ?? 0)
      const run: ClusterIngestRun = {
        target: name,
        fixesPerS: Math.round(perSecond.reduce((n, v) => n + v, 0) / Math.max(1, perSecond.length)),
        lost: Math.max(0, acked - committed),
        ackLatencyMs: { p50: results[0]?.ackLatencyMs.p50 ?? null, p99: Math.max(...p99s) },
        usage
      }
      runs.push(run)
      log(`${name}: ${run.fixesPerS} fixes/s acknowledged and committed, lost ${run.lost}, ack p99 ${run.ackLatencyMs.p99} ms`)
    }
    return { database: db.server, runs }
  } finally {
    await db.drop()
    await redis.stop()
  }
}
