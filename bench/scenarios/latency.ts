import { spawn } from 'node:child_process'
import { freePort } from '../../server/free-port.js'
import { Fleet } from '../lib/fleet.js'
import type { RunPlan } from '../lib/fleet-protocol.js'
import { fleetBox, loadRoute, viewport } from '../lib/routes.js'
import { pidsOf, Sampler, type ProcessUsage } from '../lib/sampler.js'
import { BENCH_API_KEY, benchDatabase, DEVICE_SECRET, ROOT, seedTrackers, startTrackstream } from '../lib/stage.js'
import { Viewers, type ViewerResult } from '../lib/viewers.js'

export interface LatencyOptions {
  devices: number
  hz: number
  fixesPerMessage: number
  viewers: number
  durationS: number
  tickMs: number
}

export interface LatencyRun {
  target: string
  fixesPerS: number
  viewers: ViewerResult
  usage: Record<string, ProcessUsage>
}

const WARMUP_S = 5

/** Publish → WebSocket frame latency, trackstream against a bare ws broadcast at the same rate. */
export async function latency (options: LatencyOptions, log: (line: string) => void): Promise<{ database: string, runs: LatencyRun[] }> {
  const runs: LatencyRun[] = []
  const rate = options.devices * options.hz * options.fixesPerMessage
  const box = fleetBox(loadRoute())
  const viewports = Array.from({ length: options.viewers }, (_, i) => viewport(box, i))

  // baseline: fan-out alone
  const port = await freePort()
  const broadcast = spawn(process.execPath, ['--import', 'tsx', 'bench/baselines/ws-broadcast.ts', String(port), String(rate), String(options.tickMs)], { cwd: ROOT, stdio: 'ignore' })
  await new Promise((resolve) => setTimeout(resolve, 2000))
  const raw = await Viewers.open(Array.from({ length: options.viewers }, () => `ws://127.0.0.1:${port}`), {})
  await new Promise((resolve) => setTimeout(resolve, WARMUP_S * 1000))
  await raw.reset()
  const rawSampler = new Sampler([{ name: 'ws broadcast', pids: () => [broadcast.pid ?? 0] }, { name: 'viewers', pids: () => raw.pids }])
  rawSampler.start()
  await new Promise((resolve) => setTimeout(resolve, options.durationS * 1000))
  runs.push({ target: 'raw ws broadcast', fixesPerS: rate, viewers: await raw.report(), usage: rawSampler.stop() })
  raw.close()
  broadcast.kill()
  log(`raw ws broadcast: p99 ${runs[0]?.viewers.latencyMs.p99} ms`)

  const db = await benchDatabase('trackstream_bench')
  try {
    const ids = await seedTrackers(db, options.devices)
    const target = await startTrackstream(db.url, { LIVE_TICK_MS: String(options.tickMs) })
    const fleet = await Fleet.connect(target.host, target.mqttPort, ids, DEVICE_SECRET)
    const ops = await Viewers.open(Array.from({ length: options.viewers }, () => `ws://127.0.0.1:${target.httpPort}/ws/live`),
      { authorization: `Bearer ${BENCH_API_KEY}` }, viewports)
    const plan = (seconds: number): RunPlan => ({
      durationMs: seconds * 1000, hz: options.hz, qos: 1, fixesPerMessage: options.fixesPerMessage, format: 'json', window: 8, drainMs: 5000
    })
    await fleet.run(plan(WARMUP_S))
    await ops.reset()
    const sampler = new Sampler([
      { name: 'trackstream', pids: () => [target.pid] },
      { name: 'load generator', pids: () => fleet.pids },
      { name: 'viewers', pids: () => ops.pids },
      { name: 'postgres', pids: () => pidsOf('postgres') }
    ])
    sampler.start()
    log(`trackstream: ${rate} fixes/s to ${options.viewers} ops viewers for ${options.durationS} s`)
    const result = await fleet.run(plan(options.durationS))
    runs.push({ target: 'trackstream', fixesPerS: Math.round(result.ackedFixes / options.durationS), viewers: await ops.report(), usage: sampler.stop() })
    log(`trackstream: p99 ${runs[1]?.viewers.latencyMs.p99} ms`)
    ops.close()
    fleet.close()
    await target.stop()
    return { database: db.server, runs }
  } finally {
    await db.drop()
  }
}

