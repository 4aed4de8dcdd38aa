import { copyRows } from '../baselines/pg-copy.js'
import { Fleet, type FleetResult } from '../lib/fleet.js'
import type { RunPlan } from '../lib/fleet-protocol.js'
import { pidsOf, Sampler, type ProcessUsage } from '../lib/sampler.js'
import { loadRoute } from '../lib/routes.js'
import { benchDatabase, countRows, DEVICE_SECRET, seedEngine, seedTrackers, startAedesAlone, startMosquitto, startTrackstream, type Target } from '../lib/stage.js'

export interface IngestOptions {
  devices: number
  hz: number
  qos: 0 | 1
  durationS: number
  fixesPerMessage: number
  format: 'json' | 'protobuf'
  window: number
  /** which targets to run, e.g. ['trackstream'] while iterating; all by default */
  only: string[] | null
  /** load the tracking engine: geofences on the route and parcels aboard every vehicle */
  engine?: { fences: number, parcelsPerVehicle: number }
}

export interface TargetRun {
  target: string
  offeredFixesPerS: number
  /** acknowledged (QoS1) or sent (QoS0) fixes per second over the steady window: what was sustained */
  fixesPerSMean: number
  /** the median second and the slowest second of that window, to show how even it was */
  fixesPerS: number
  fixesPerSMin: number
  /** rows committed in the database per second of the run; null for baselines that store nothing */
  committedPerS: number | null
  /** acknowledged fixes missing from the database: must be 0 */
  lost: number | null
  /** milestones recorded per second (geofence crossings, with the engine loaded) */
  milestonesPerS?: number | null
  fleet: FleetResult
  usage: Record<string, ProcessUsage>
  /** trackstream's own view (from /metrics): commits, their sizes and durations, refusals */
  commits: { transactions: number, meanRows: number, meanMs: number, rejects: number } | null
}

const WARMUP_S = 5

/**
 * The simulated vans drive a route point per fix, about 110 m/s, so they pass a 300 m fence in a
 * couple of seconds: a one-second dwell lets their crossings count, as a 30 s dwell would for a real van.
 */
const ENGINE_ENV = { GEOFENCE_DWELL_MS: '1000', GEOFENCE_HYSTERESIS_M: '10' }

/** The same fleet, plan and machine against the broker alone, Mosquitto, and trackstream. */
export interface IngestResult {
  database: string
  runs: TargetRun[]
  /** the same number of rows trackstream committed, by COPY into a table with the same indexes */
  copy: { rows: number, seconds: number, rowsPerS: number } | null
}

export async function ingest (options: IngestOptions, log: (line: string) => void): Promise<IngestResult> {
  const db = await benchDatabase('trackstream_bench')
  try {
    const ids = await seedTrackers(db, options.devices)
    if (options.engine !== undefined) await seedEngine(db, options.devices, options.engine.parcelsPerVehicle, options.engine.fences, loadRoute())
    const plan: RunPlan = {
      durationMs: options.durationS * 1000,
      hz: options.hz,
      qos: options.qos,
      fixesPerMessage: options.fixesPerMessage,
      format: options.format,
      window: options.window,
      drainMs: 15_000
    }
    const runs: TargetRun[] = []
    const starters: Array<[string, () => Promise<Target | null>]> = [
      ['aedes', startAedesAlone], ['mosquitto', startMosquitto], ['trackstream', async () => await startTrackstream(db.url, options.engine === undefined ? {} : ENGINE_ENV)]
    ]
    for (const [name, start] of starters) {
      if (options.only !== null && !options.only.includes(name)) continue
      const target = await start()
      if (target === null) {
        log('mosquitto is not installed: its baseline is left out')
        continue
      }
      log(`${target.name}: connecting ${options.devices} devices`)
      const fleet = await Fleet.connect(target.host, target.mqttPort, ids, DEVICE_SECRET)
      const before = target.name === 'trackstream' ? await countRows(db, 'positions') : 0
      const milestonesBefore = target.name === 'trackstream' ? await countRows(db, 'milestones') : 0
      const groups = [
        { name: target.name, pids: () => [target.pid] },
        { name: 'load generator', pids: () => fleet.pids },
        ...(target.name === 'trackstream' ? [{ name: 'postgres', pids: () => pidsOf('postgres') }] : [])
      ]
      const sampler = new Sampler(groups)
      sampler.start()
      log(`${target.name}: ${options.durationS} s at ${options.hz} Hz × ${options.devices} devices, QoS ${options.qos}`)
      const result = await fleet.run(plan)
      const usage = sampler.stop()
      const commits = target.name === 'trackstream' ? await commitStats(target.httpPort) : null
      fleet.close()
      await target.stop()
      const committed = target.name === 'trackstream' ? await countRows(db, 'positions') - before : null
      const milestones = target.name === 'trackstream' ? await countRows(db, 'milestones') - milestonesBefore : null
      const steady = result.ackedPerSecond.slice(WARMUP_S, options.durationS)
      runs.push({
        target: target.name,
        offeredFixesPerS: options.devices * options.hz * options.fixesPerMessage,
        fixesPerSMean: Math.round(steady.reduce((sum, n) => sum + n, 0) / Math.max(1, steady.length)),
        fixesPerS: median(steady),
        fixesPerSMin: Math.min(...steady),
        committedPerS: committed === null ? null : Math.round(committed / options.durationS),
        lost: committed === null || options.qos === 0 ? null : Math.max(0, result.ackedFixes - committed),
        milestonesPerS: milestones === null ? null : Math.round(milestones / options.durationS),
        fleet: result,
        usage,
        commits
      })
      log(`${target.name}: ${runs.at(-1)?.fixesPerSMean} fixes/s sustained (median second ${median(steady)}, slowest ${Math.min(...steady)}), ack p99 ${result.ackLatencyMs.p99} ms`)
    }
    const committed = runs.find((r) => r.target === 'trackstream')?.committedPerS
    const copy = committed === undefined || committed === null ? null : await copyRows(db.pool, committed * options.durationS)
    if (copy !== null) log(`raw COPY: ${copy.rowsPerS} rows/s`)
    return { database: db.server, runs, copy }
  } finally {
    await db.drop()
  }
}

export function median (values: number[]): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

/** The group commit's figures, from the server's /metrics. */
export async function commitStats (httpPort: number): Promise<{ transactions: number, meanRows: number, meanMs: number, rejects: number }> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text()
  const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0)
  const transactions = value('trackstream_commit_seconds_count')
  const rejects = [...text.matchAll(/^trackstream_rejects_total\{[^}]*\} (\S+)$/gm)].reduce((n, m) => n + Number(m[1]), 0)
  return {
    rejects,
    transactions,
    meanRows: Math.round(value('trackstream_commit_rows_sum') / Math.max(1, transactions)),
    meanMs: Math.round(value('trackstream_commit_seconds_sum') * 1000 / Math.max(1, transactions) * 10) / 10
  }
}
