import { Fleet } from '../lib/fleet.js'
import type { RunPlan } from '../lib/fleet-protocol.js'
import { fleetBox, loadRoute, viewport } from '../lib/routes.js'
import { pidsOf, Sampler, type ProcessUsage } from '../lib/sampler.js'
import { BENCH_API_KEY, benchDatabase, DEVICE_SECRET, seedTrackers, startTrackstream } from '../lib/stage.js'
import { Viewers, type ViewerResult } from '../lib/viewers.js'

export interface FramesOptions {
  devices: number
  hz: number
  fixesPerMessage: number
  viewers: number
  /** viewers in the whole-world windows (each gets every tick's frame) */
  worldViewers: number
  /** seconds measured per window: the baseline, then each mode × format */
  durationS: number
  tickMs: number
  /** one viewer in this many decodes and measures latency; the others count bytes */
  decodeEvery: number
}

export type FeedMode = 'viewport' | 'world'
export type FeedFormat = 'json' | 'protobuf'

export interface FramesRun {
  /** 'none' is the baseline: the same load with no viewer, i.e. what ingest alone costs */
  mode: FeedMode | 'none'
  format: FeedFormat | null
  seconds: number
  viewers: ViewerResult | null
  usage: Record<string, ProcessUsage>
  framesPerS: number
  /** positions frames a viewer got a second: at most one a tick */
  framesPerViewerS: number
  /** positions delivered a second to all viewers, from what the decoding ones read */
  positionsPerS: number
  /** server CPU for each 1,000 positions delivered: what a position costs, even on a machine too busy to give the server all it wants */
  cpuMsPerKPositions: number
  /** payload bytes of a positions frame, mean */
  bytesPerFrame: number
  /** payload bytes a second to all viewers, positions and resync snapshots */
  bytesPerS: number
  /** the same with WebSocket frame headers */
  wireBytesPerS: number
  /** server CPU above the baseline: the fan-out's share */
  fanOutCpuPercent: number
}

export interface FramesComparison {
  mode: FeedMode
  /** protobuf ÷ JSON, each figure measured in the same run */
  bytesPerFrame: number
  bytesPerS: number
  /** bytes per position delivered: the format's cost, whatever the frames held */
  bytesPerPosition: number
  serverCpu: number
  cpuPerPosition: number
  p50: number | null
  p99: number | null
}

const WARMUP_S = 5
/** load before a window's measurement starts, so it begins in the steady state */
const SETTLE_S = 2

/**
 * The same load and the same viewers, once with JSON frames and once with protobuf, in one run on
 * one server: what the binary frames save in bytes, server CPU and latency, for viewers that each
 * watch one cell of a 10 × 10 grid over the fleet (a frame per viewer) and for viewers that watch
 * the whole world (one frame shared by all). The fleet idles between windows while viewers connect.
 */
export async function frames (options: FramesOptions, log: (line: string) => void): Promise<{ database: string, runs: FramesRun[], comparisons: FramesComparison[] }> {
  const box = fleetBox(loadRoute())
  const began = Date.now()
  const db = await benchDatabase('trackstream_bench_frames')
  try {
    const ids = await seedTrackers(db, options.devices)
    const target = await startTrackstream(db.url, { LIVE_TICK_MS: String(options.tickMs) })
    const fleet = await Fleet.connect(target.host, target.mqttPort, ids, DEVICE_SECRET)
    const plan = (seconds: number): RunPlan => ({
      durationMs: seconds * 1000, hz: options.hz, qos: 1, fixesPerMessage: options.fixesPerMessage, format: 'json', window: 8, drainMs: 5000
    })
    // every vehicle has a position, so snapshots are as large as they will be
    await fleet.run(plan(Math.max(WARMUP_S, 1.2 / options.hz)))
    const sampled = (viewers: Viewers | null): Sampler => new Sampler([
      { name: 'trackstream', pids: () => [target.pid] },
      { name: 'load generator', pids: () => fleet.pids },
      { name: 'viewers', pids: () => viewers?.pids ?? [] },
      { name: 'postgres', pids: () => pidsOf('postgres') }
    ])
    /** Load for SETTLE_S + durationS, measured over the last durationS. */
    const window = async (viewers: Viewers | null): Promise<Window> => {
      const run = fleet.run(plan(SETTLE_S + options.durationS))
      await sleep(SETTLE_S * 1000)
      await viewers?.reset()
      const sampler = sampled(viewers)
      const started = Date.now()
      sampler.start()
      await sleep(options.durationS * 1000)
      // CPU over the window only; a viewer process that fell behind answers after its backlog,
      // so its counts include frames sent in the window but read after it
      const usage = sampler.stop()
      const seconds = (Date.now() - started) / 1000
      const result = { viewers: await viewers?.report() ?? null, usage, seconds }
      await run
      return result
    }

    const runs: FramesRun[] = []
    log(`frames: ${options.devices} vehicles, ${Math.round(options.devices * options.hz * options.fixesPerMessage)} fixes/s, ready after ${Math.round((Date.now() - began) / 1000)} s; baseline with no viewer for ${options.durationS} s`)
    const baseline = await window(null)
    const baseCpu = baseline.usage.trackstream?.cpuPercent ?? 0
    runs.push(summarise('none', null, baseline, baseCpu, 0))
    for (const mode of ['viewport', 'world'] as const) {
      const count = mode === 'world' ? options.worldViewers : options.viewers
      for (const format of ['json', 'protobuf'] as const) {
        const viewports = Array.from({ length: count }, (_, i) => mode === 'world' ? null : viewport(box, i))
        // one in decodeEvery, spread through the connection order (the hub serves viewers in that
        // order each tick) and, for 10, over every cell of the grid once per 1000 viewers
        const decode = Array.from({ length: count }, (_, i) => i % options.decodeEvery === Math.floor(i / 100) % options.decodeEvery)
        const viewers = await Viewers.open(Array.from({ length: count }, () => `ws://127.0.0.1:${target.httpPort}/ws/live`),
          { authorization: `Bearer ${BENCH_API_KEY}` }, viewports, 1000, { format, decode })
        const measured = summarise(mode, format, await window(viewers), baseCpu, decode.filter(Boolean).length)
        runs.push(measured)
        viewers.close()
        log(`${mode} ${format}: ${Math.round(measured.bytesPerFrame)} B/frame, ${(measured.bytesPerS / 1e6).toFixed(1)} MB/s, server CPU ${measured.usage.trackstream?.cpuPercent} %, p50/p99 ${measured.viewers?.latencyMs.p50}/${measured.viewers?.latencyMs.p99} ms`)
        // let the server see the closes before the next viewers connect
        await sleep(1000)
      }
    }
    fleet.close()
    await target.stop()
    log(`frames: done in ${Math.round((Date.now() - began) / 1000)} s`)
    return { database: db.server, runs, comparisons: (['viewport', 'world'] as const).map((mode) => compare(runs, mode)) }
  } finally {
    await db.drop()
  }
}

interface Window { viewers: ViewerResult | null, usage: Record<string, ProcessUsage>, seconds: number }

function summarise (mode: FramesRun['mode'], format: FeedFormat | null, window: Window, baseCpu: number, decoders: number): FramesRun {
  const v = window.viewers
  const s = window.seconds
  const positionsPerS = v === null || decoders === 0 ? 0 : Math.round(v.items * v.viewers / decoders / s)
  const cpuMs = (window.usage.trackstream?.cpuPercent ?? 0) * 10
  return {
    mode,
    format,
    seconds: s,
    viewers: v,
    usage: window.usage,
    framesPerS: v === null ? 0 : Math.round(v.frames / s),
    framesPerViewerS: v === null || v.viewers === 0 ? 0 : Math.round(v.frames / v.viewers / s * 10) / 10,
    positionsPerS,
    cpuMsPerKPositions: positionsPerS === 0 ? 0 : Math.round(cpuMs / (positionsPerS / 1000) * 100) / 100,
    bytesPerFrame: v === null || v.frames === 0 ? 0 : Math.round(v.bytes / v.frames),
    bytesPerS: v === null ? 0 : Math.round((v.bytes + v.snapshotBytes) / s),
    wireBytesPerS: v === null ? 0 : Math.round((v.wireBytes + v.snapshotBytes) / s),
    fanOutCpuPercent: Math.round(((window.usage.trackstream?.cpuPercent ?? 0) - baseCpu) * 10) / 10
  }
}

function compare (runs: FramesRun[], mode: FeedMode): FramesComparison {
  const json = runs.find((r) => r.mode === mode && r.format === 'json')
  const protobuf = runs.find((r) => r.mode === mode && r.format === 'protobuf')
  const ratio = (a: number | null | undefined, b: number | null | undefined): number | null =>
    a === null || a === undefined || b === null || b === undefined || b === 0 ? null : Math.round(a / b * 1000) / 1000
  return {
    mode,
    bytesPerFrame: ratio(protobuf?.bytesPerFrame, json?.bytesPerFrame) ?? 0,
    bytesPerS: ratio(protobuf?.bytesPerS, json?.bytesPerS) ?? 0,
    bytesPerPosition: ratio(perPosition(protobuf), perPosition(json)) ?? 0,
    serverCpu: ratio(protobuf?.usage.trackstream?.cpuPercent, json?.usage.trackstream?.cpuPercent) ?? 0,
    cpuPerPosition: ratio(protobuf?.cpuMsPerKPositions, json?.cpuMsPerKPositions) ?? 0,
    p50: ratio(protobuf?.viewers?.latencyMs.p50, json?.viewers?.latencyMs.p50),
    p99: ratio(protobuf?.viewers?.latencyMs.p99, json?.viewers?.latencyMs.p99)
  }
}

function perPosition (run: FramesRun | undefined): number | undefined {
  return run === undefined || run.positionsPerS === 0 ? undefined : run.bytesPerS / run.positionsPerS
}


async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}
