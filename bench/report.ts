import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { Machine } from './lib/machine.js'
import { ROOT } from './lib/stage.js'
import type { ConnectionsRun } from './scenarios/connections.js'
import type { FramesComparison, FramesOptions, FramesRun } from './scenarios/frames.js'
import type { MapOptions, PagePhase } from './scenarios/map.js'
import type { PoisonOptions, PoisonRun } from './scenarios/poison.js'
import type { IngestOptions, IngestResult, TargetRun } from './scenarios/ingest.js'
import type { LatencyOptions, LatencyRun } from './scenarios/latency.js'
import { SEARCH, TRACKING, type ParcelsOptions, type ParcelsPhase, type ParcelsResult } from './scenarios/parcels.js'
import type { RestRun } from './scenarios/rest.js'
import type { RfidOptions, RfidRun } from './scenarios/rfid.js'

interface Saved { at: string, machine: Machine, mosquitto: string | null }
type IngestFile = Saved & IngestResult & { options: IngestOptions }
type LatencyFile = Saved & { options: LatencyOptions, runs: LatencyRun[] }
type ConnectionsFile = Saved & { options: { devices: number, everyS: number, durationS: number }, runs: ConnectionsRun[] }
type RestFile = Saved & { options: { parcels: number, connections: number, durationS: number }, runs: RestRun[] }
type RfidFile = Saved & { options: RfidOptions, run: RfidRun }
type EngineFile = Saved & { options: IngestOptions, runs: { plain: IngestResult, engine: IngestResult } }
type FramesFile = Saved & { options: FramesOptions, runs: FramesRun[], comparisons: FramesComparison[] }
type MapFile = Saved & { options: MapOptions, phases: PagePhase[] }
type PoisonFile = Saved & { options: PoisonOptions, runs: PoisonRun[] }
type ParcelsFile = Saved & ParcelsResult & { options: ParcelsOptions }

const DIR = path.join(ROOT, 'bench/results')

async function load<T> (name: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path.join(DIR, `${name}.json`), 'utf8')) as T
  } catch {
    return undefined
  }
}

const n = (value: number | null | undefined): string => value === null || value === undefined ? '–' : Math.round(value).toLocaleString('en-US')
const ratio = (a: number, b: number): string => b === 0 ? '–' : (a / b).toFixed(2)
const mark = (met: boolean): string => met ? '**met**' : '**not met**'

/**
 * SUMMARY.md from the JSON results: every figure beside the baseline measured in the same run,
 * every verdict computed from the figures.
 */
export async function writeSummary (): Promise<string> {
  const ingest = await load<IngestFile>('ingest')
  const qos0 = await load<IngestFile>('ingest-qos0')
  const single = await load<IngestFile>('ingest-single-fix')
  const overload = await load<IngestFile>('ingest-overload')
  const latency = await load<LatencyFile>('latency')
  const connections = await load<ConnectionsFile>('connections')
  const rest = await load<RestFile>('rest')
  const rfid = await load<RfidFile>('rfid')
  const engine = await load<EngineFile>('engine')
  const frames = await load<FramesFile>('frames')
  const map = await load<MapFile>('map')
  const poisoned = await load<PoisonFile>('poison')
  const byTheMillion = (await Promise.all(PARCEL_SCALES.map(async (scale) => ({ scale, file: await load<ParcelsFile>(`parcels-${scale.parcels}`) }))))
    .flatMap(({ scale, file }) => file === undefined ? [] : [{ scale, file }])
  const machine = ingest?.machine ?? latency?.machine ?? connections?.machine ?? rest?.machine ?? rfid?.machine ?? frames?.machine ?? byTheMillion[0]?.file.machine
  const lines: string[] = ['# trackstream bench results', '']
  if (machine !== undefined) {
    lines.push(`Measured on ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB; ${machine.kernel}; Node ${machine.node}; ${machine.postgres}.`,
      `${machine.note}. Each figure is compared with a baseline measured in the same run, on the same machine, a minute or so apart.`,
      'Regenerate with `npm run bench -- all` (about 17 minutes); this file with `npm run bench -- summary`.', '')
  }

  lines.push('## Targets', '', '| target | measured | baseline, same run | ratio | verdict |', '|---|---|---|---|---|')
  const ts = (file: IngestFile | undefined): TargetRun | undefined => file?.runs.find((r) => r.target === 'trackstream')
  const broker = (file: IngestFile | undefined): TargetRun | undefined => file?.runs.find((r) => r.target === 'aedes alone')
  const durable = ts(ingest)
  const alone = broker(ingest)
  if (ingest !== undefined && durable !== undefined && alone !== undefined) {
    const o = ingest.options
    const met = durable.fixesPerSMean >= 20_000 && o.durationS >= 60 && o.devices >= 5000 && durable.lost === 0 && o.qos === 1
    lines.push(`| durable QoS1 ingest ≥ 20,000 fixes/s for ≥ 60 s from ≥ 5,000 devices, nothing acknowledged lost | ${n(durable.fixesPerSMean)} fixes/s acknowledged over the steady ${o.durationS - 5} s (median second ${n(durable.fixesPerS)}, slowest ${n(durable.fixesPerSMin)}) of ${n(durable.offeredFixesPerS)} offered; ${n(durable.committedPerS)} rows/s committed; ${n(durable.lost)} lost; ${o.devices} devices, ${o.fixesPerMessage} fixes per message | aedes alone ${n(alone.fixesPerSMean)} fixes/s | ${ratio(durable.fixesPerSMean, alone.fixesPerSMean)} | ${mark(met)} |`)
    lines.push(`| … and ≥ 0.6 of the broker-alone rate, same plan | ${n(durable.fixesPerSMean)} | ${n(alone.fixesPerSMean)} | ${ratio(durable.fixesPerSMean, alone.fixesPerSMean)} | ${mark(durable.fixesPerSMean >= 0.6 * alone.fixesPerSMean)} |`)
    const over = ts(overload)
    const overBroker = broker(overload)
    if (over !== undefined && overBroker !== undefined) {
      lines.push(`| … at capacity (${n(over.offeredFixesPerS)} offered, more than either sustains) | ${n(over.fixesPerSMean)} | ${n(overBroker.fixesPerSMean)} | ${ratio(over.fixesPerSMean, overBroker.fixesPerSMean)} | ${mark(over.fixesPerSMean >= 0.6 * overBroker.fixesPerSMean)} |`)
    }
  }
  const viewed = latency?.runs.find((r) => r.target === 'trackstream')
  const rawWs = latency?.runs.find((r) => r.target === 'raw ws broadcast')
  if (latency !== undefined && viewed !== undefined && rawWs !== undefined) {
    const p99 = viewed.viewers.latencyMs.p99 ?? Infinity
    const met = p99 <= 50 && viewed.fixesPerS >= 10_000 && latency.options.viewers >= 1000
    lines.push(`| p99 publish → WebSocket ≤ 50 ms at 10,000 fixes/s with 1,000 ops viewers | p99 ${n(p99)} ms (p50 ${n(viewed.viewers.latencyMs.p50)}), ${n(viewed.fixesPerS)} fixes/s, ${latency.options.viewers} viewers, tick ${latency.options.tickMs} ms | raw ws broadcast p99 ${n(rawWs.viewers.latencyMs.p99)} ms | ${ratio(p99, rawWs.viewers.latencyMs.p99 ?? 0)} | ${mark(met)} |`)
  }
  const held = connections?.runs.find((r) => r.target === 'trackstream')
  if (connections !== undefined && held !== undefined) {
    const rss = held.usage.trackstream?.rssMaxMiB ?? Infinity
    const aedes = connections.runs.find((r) => r.target === 'aedes alone')
    const met = held.connected >= 15_000 && rss <= 1536 && held.lost === 0
    lines.push(`| 15,000 device connections at 1 fix / 5 s, server RSS ≤ 1.5 GB | ${n(held.connected)} connected, ${n(held.fixesPerS)} fixes/s, trackstream RSS ${n(rss)} MiB (PostgreSQL ${n(held.usage.postgres?.rssMaxMiB)} MiB) | aedes alone RSS ${n(aedes?.usage['aedes alone']?.rssMaxMiB)} MiB | ${ratio(rss, aedes?.usage['aedes alone']?.rssMaxMiB ?? 0)} | ${mark(met)} |`)
  }
  const plain = engine?.runs.plain.runs[0]
  const loaded = engine?.runs.engine.runs[0]
  if (engine !== undefined && plain !== undefined && loaded !== undefined) {
    const o = engine.options
    const met = loaded.fixesPerSMean >= 20_000 && loaded.lost === 0 && loaded.fixesPerSMean >= 0.9 * plain.fixesPerSMean
    lines.push(`| milestone work keeps pace: the durable ingest with the tracking engine loaded (${n(o.engine?.fences)} geofences, ${n((o.engine?.parcelsPerVehicle ?? 0) * o.devices)} parcels aboard) ≥ 20,000 fixes/s and ≥ 0.9 × without | ${n(loaded.fixesPerSMean)} fixes/s, ${n(loaded.lost)} lost, ${n(loaded.milestonesPerS)} milestones/s from geofence crossings, ack p99 ${n(loaded.fleet.ackLatencyMs.p99)} ms, PostgreSQL CPU ${loaded.usage.postgres?.cpuPercent ?? '–'} % | without the engine ${n(plain.fixesPerSMean)} fixes/s, ack p99 ${n(plain.fleet.ackLatencyMs.p99)} ms, PostgreSQL CPU ${plain.usage.postgres?.cpuPercent ?? '–'} % | ${ratio(loaded.fixesPerSMean, plain.fixesPerSMean)} | ${mark(met)} |`)
  }
  const hello = rest?.runs.find((r) => r.target.startsWith('fastify'))
  const tracking = rest?.runs.find((r) => r.target.startsWith('public tracking'))
  if (hello !== undefined && tracking !== undefined) {
    const met = tracking.requestsPerS >= 0.5 * hello.requestsPerS && tracking.latencyMs.p99 <= 25 && tracking.non2xx === 0
    lines.push(`| public tracking endpoint ≥ 0.5 × Fastify hello world, p99 ≤ 25 ms | ${n(tracking.requestsPerS)} req/s, p99 ${tracking.latencyMs.p99} ms | hello world ${n(hello.requestsPerS)} req/s, p99 ${hello.latencyMs.p99} ms | ${ratio(tracking.requestsPerS, hello.requestsPerS)} | ${mark(met)} |`)
  }
  const clean = poisoned?.runs.find((r) => r.name === 'clean')
  if (poisoned !== undefined && clean !== undefined) {
    for (const run of poisoned.runs.filter((r) => r.name !== 'clean')) {
      const how = run.name === 'refused-early' ? 'values PostgreSQL would refuse (real underflow), refused by validation' : 'a value only the database refuses (a CHECK constraint), set aside by the group commit'
      const met = run.healthyFixesPerS >= 0.9 * clean.healthyFixesPerS && run.lost === 0 && clean.lost === 0
      lines.push(`| a poisoned device beside ${poisoned.options.devices} healthy ones costs them ≤ 10 %: ${poisoned.options.poisonPerS} messages/s of ${how} | healthy ${n(run.healthyFixesPerS)} fixes/s acknowledged (slowest second ${n(run.slowestSecond)}), ack p99 ${n(run.ackP99Ms)} ms, ${n(run.lost)} lost; ${n(run.poisonAcked)} of ${n(run.poisonSent)} poisoned messages acknowledged, ${n(run.poisonKept)} kept in ingest_rejects | the same fleet alone ${n(clean.healthyFixesPerS)} fixes/s, ack p99 ${n(clean.ackP99Ms)} ms | ${ratio(run.healthyFixesPerS, clean.healthyFixesPerS)} | ${mark(met)} |`)
    }
  }
  for (const { scale, file } of byTheMillion) lines.push(...parcelsTargets(scale, file))
  lines.push('')

  lines.push('## Ingest', '', '| run | target | offered fixes/s | sustained fixes/s (median / slowest second) | committed rows/s | lost | ack p50 / p99 ms | CPU % (server / generator / PostgreSQL) | RSS MiB |', '|---|---|---|---|---|---|---|---|---|')
  for (const [name, file] of [['QoS1, 5 fixes per message', ingest], ['QoS0, 5 fixes per message', qos0], ['QoS1, overload', overload], ['QoS1, one fix per message', single]] as const) {
    for (const run of file?.runs ?? []) {
      const server = run.usage[run.target]
      lines.push(`| ${name} | ${run.target} | ${n(run.offeredFixesPerS)} | ${n(run.fixesPerSMean)} (${n(run.fixesPerS)} / ${n(run.fixesPerSMin)}) | ${n(run.committedPerS)} | ${n(run.lost)} | ${n(run.fleet.ackLatencyMs.p50)} / ${n(run.fleet.ackLatencyMs.p99)} | ${server?.cpuPercent ?? '–'} / ${run.usage['load generator']?.cpuPercent ?? '–'} / ${run.usage.postgres?.cpuPercent ?? '–'} | ${n(server?.rssMaxMiB)} |`)
    }
  }
  if (ingest?.copy != null && durable !== undefined) {
    lines.push('', `Raw PostgreSQL COPY of the same ${n(ingest.copy.rows)} rows into a table with the same indexes: ${n(ingest.copy.rowsPerS)} rows/s; trackstream committed ${n(durable.committedPerS)} rows/s (ratio ${ratio(durable.committedPerS ?? 0, ingest.copy.rowsPerS)}), with decoding, validation, deduplication and acknowledgement on top.`)
  }
  const wall = ts(single)
  const wallBroker = broker(single)
  if (wall !== undefined && wallBroker !== undefined) {
    const brokerCpu = (wallBroker.usage['aedes alone']?.cpuPercent ?? 0) + (wallBroker.usage['load generator']?.cpuPercent ?? 0)
    lines.push('', `**One fix per message.** At ${n(wall.offeredFixesPerS)} single-fix messages/s, aedes alone sustains ${n(wallBroker.fixesPerSMean)}/s using ${wallBroker.usage['aedes alone']?.cpuPercent}% of a core while the generator takes ${wallBroker.usage['load generator']?.cpuPercent}%; trackstream sustains ${n(wall.fixesPerSMean)}/s at ${wall.usage.trackstream?.cpuPercent}% CPU.` +
      (brokerCpu >= 150 ? ' The broker and the load generator alone use ' + brokerCpu.toFixed(0) + '% of this 2-core machine: per-message cost in aedes is the wall for single-fix messages here, and anything after the broker has at most what is left.' : ''))
  }

  if (latency !== undefined) {
    lines.push('', '## Live latency', '', '| target | fixes/s | viewers | frames | p50 / p95 / p99 / max ms | CPU % |', '|---|---|---|---|---|---|')
    for (const run of latency.runs) {
      const l = run.viewers.latencyMs
      lines.push(`| ${run.target} | ${n(run.fixesPerS)} | ${run.viewers.viewers} | ${n(run.viewers.frames)} | ${l.p50} / ${l.p95} / ${l.p99} / ${l.max} | ${Object.entries(run.usage).map(([k, u]) => `${k} ${u.cpuPercent}`).join(', ')} |`)
    }
    lines.push('', 'The raw broadcast sends every viewer a frame every tick; trackstream sends a viewer only what moved in its viewport (one cell of a 10 × 10 grid over the fleet), so it sends far fewer frames.')
  }
  if (frames !== undefined) lines.push('', ...framesSection(frames))
  if (map !== undefined) lines.push('', ...mapSection(map))
  if (connections !== undefined) {
    lines.push('', '## Connections', '', '| target | connected | connect time s | fixes/s | ack p99 ms | CPU % | RSS MiB |', '|---|---|---|---|---|---|---|')
    for (const run of connections.runs) {
      const u = run.usage[run.target]
      lines.push(`| ${run.target} | ${n(run.connected)} | ${run.connectSeconds} | ${n(run.fixesPerS)} | ${n(run.fleet.ackLatencyMs.p99)} | ${u?.cpuPercent} | ${n(u?.rssMaxMiB)} |`)
    }
  }
  if (rest !== undefined) {
    lines.push('', '## REST (autocannon, after a warm-up pass)', '', `${rest.options.connections} connections, ${rest.options.durationS} s each, ${n(rest.options.parcels)} parcels.`, '',
      '| endpoint | req/s | p50 / p97.5 / p99 ms | errors | server CPU % |', '|---|---|---|---|---|')
    for (const run of rest.runs) lines.push(`| ${run.target} | ${n(run.requestsPerS)} | ${run.latencyMs.p50} / ${run.latencyMs.p97_5} / ${run.latencyMs.p99} | ${run.non2xx + run.errors} | ${run.usage.server?.cpuPercent} |`)
  }
  if (byTheMillion.length > 0) lines.push('', ...parcelsSection(byTheMillion.map((m) => m.file)))
  if (rfid !== undefined) {
    const r = rfid.run
    lines.push('', '## RFID stations and buyers', '', `${rfid.options.readers} readers, each reading ${rfid.options.hz} tags/s and reporting each ${rfid.options.reads} times; ${r.buyers.viewers} buyers on /ws/track.`, '',
      `${n(r.scansPerS)} scans/s → ${n(r.readRowsPerS)} read rows/s and ${n(r.milestonesPerS)} milestones/s (one per visit); ${n(r.buyers.items)} milestones pushed to buyers, p50 / p99 ${r.buyers.latencyMs.p50} / ${r.buyers.latencyMs.p99} ms from scan to frame. CPU %: ${Object.entries(r.usage).map(([k, u]) => `${k} ${u.cpuPercent}`).join(', ')}.`)
  }
  const file = path.join(DIR, 'SUMMARY.md')
  await writeFile(file, lines.join('\n') + '\n')
  return path.relative(ROOT, file)
}

/** The ops page under a moving fleet, against the same page with the fleet still. */
function mapSection (file: MapFile): string[] {
  const o = file.options
  const still = file.phases[0]
  const lines = ['## The ops map in a browser', '',
    `Headless Chromium (software WebGL, SwiftShader) on the same 2 cores as trackstream, PostgreSQL and the fleet; ${n(o.devices)} vehicles each reporting every ${n(1 / o.hz)} s; ${o.durationS} s per phase, measured inside the page (\`npm run bench -- map\`). The first phase is the baseline.`, '',
    '| phase | vehicles on the page (in view) | frames / s | ratio to still | frame p50 / p95 / p99 / max ms | long tasks ms / s | Chromium CPU % | trackstream CPU % |', '|---|---|---|---|---|---|---|---|']
  for (const p of file.phases) {
    const ratio = still === undefined || still.fps === 0 ? '–' : (p.fps / still.fps).toFixed(2)
    lines.push(`| ${p.phase} | ${n(p.vehicles)} (${n(p.inView)}) | ${p.fps} | ${ratio} | ${p.frameMs.p50} / ${p.frameMs.p95} / ${p.frameMs.p99} / ${p.frameMs.max} | ${p.longTaskMsPerS} | ${p.usage.chromium?.cpuPercent ?? '–'} | ${p.usage.trackstream?.cpuPercent ?? '–'} |`)
  }
  return lines
}

/** The ops feed in JSON and in protobuf, same load, same viewers, one run; the ratios decide. */
function framesSection (file: FramesFile): string[] {
  const o = file.options
  const watch = { none: 'nobody (baseline)', viewport: 'a 10 × 10 grid cell each', world: 'the whole world' }
  const mb = (bytes: number): string => (bytes / 1e6).toFixed(1)
  const lines = ['## Live frames: JSON against protobuf', '',
    `${n(o.devices)} vehicles, ${n(o.devices * o.hz * o.fixesPerMessage)} fixes/s, tick ${o.tickMs} ms (at most ${n(1000 / o.tickMs)} frames a second per viewer); each window ${o.durationS} s on the same server in one run (\`npm run bench -- frames\`). Latency is publish → frame, read by one viewer in ${o.decodeEvery}; the others count bytes. Server CPU above the no-viewer baseline is the fan-out's share.`, '',
    '| viewers watch | format | viewers | frames / viewer / s | positions / s delivered | bytes / frame | MB/s to viewers | resync snapshots | server CPU % (fan-out) | server CPU ms / 1,000 positions | viewers CPU % | p50 / p99 ms |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|']
  for (const run of file.runs) {
    const l = run.viewers?.latencyMs
    lines.push(`| ${watch[run.mode]} | ${run.format ?? '–'} | ${n(run.viewers?.viewers)} | ${run.framesPerViewerS} | ${n(run.positionsPerS)} | ${n(run.bytesPerFrame)} | ${mb(run.bytesPerS)} | ${n(run.viewers?.snapshots)} | ${run.usage.trackstream?.cpuPercent ?? '–'} (${run.mode === 'none' ? '–' : run.fanOutCpuPercent}) | ${run.mode === 'none' ? '–' : run.cpuMsPerKPositions} | ${run.usage.viewers?.cpuPercent ?? '–'} | ${l === undefined ? '–' : `${l.p50} / ${l.p99}`} |`)
  }
  lines.push('', '| viewers watch | protobuf ÷ JSON: bytes / frame | bytes / position | MB/s | server CPU | server CPU per position | p50 | p99 |', '|---|---|---|---|---|---|---|---|')
  for (const c of file.comparisons) {
    lines.push(`| ${watch[c.mode]} | ${c.bytesPerFrame} | ${c.bytesPerPosition} | ${c.bytesPerS} | ${c.serverCpu} | ${c.cpuPerPosition} | ${c.p50 ?? '–'} | ${c.p99 ?? '–'} |`)
  }
  const said = file.comparisons.map((c) => {
    const cpu = c.cpuPerPosition <= 0.95 ? 'less server CPU per position delivered' : c.cpuPerPosition >= 1.05 ? 'more server CPU per position delivered' : 'the same server CPU per position delivered (within 5 %)'
    const p99 = c.p99 === null ? 'no latency figure' : c.p99 <= 0.9 ? 'a lower p99' : c.p99 >= 1.1 ? 'a higher p99' : 'the same p99 (within 10 %)'
    return `watching ${watch[c.mode]}, protobuf sends ${Math.round((1 - c.bytesPerPosition) * 100)} % fewer bytes per position, with ${cpu} and ${p99}`
  })
  lines.push('', `In this run: ${said.join('; ')}.`)
  return lines
}

/** The parcels scenario's two sizes and what each must meet (issue 12). */
const PARCEL_SCALES = [
  { parcels: 1_000_000, inTransit: 100_000, readyS: 10, rssMiB: 600, rss: '600 MiB', cpuPercent: 3, endpoints: false },
  { parcels: 10_000_000, inTransit: 1_000_000, readyS: 30, rssMiB: 1536, rss: '1.5 GiB', cpuPercent: 10, endpoints: true }
] as const
type ParcelScale = typeof PARCEL_SCALES[number]

/** A ratio only where both figures exist. */
const ratioOf = (a: number | null | undefined, b: number | null | undefined): string => a === null || a === undefined || b === null || b === undefined ? '–' : ratio(a, b)
const asked = (a: { transit: number, delivered: number }): string => `${n(a.transit + a.delivered)}: ${n(a.transit)} on their way, ${n(a.delivered)} delivered`
const firstLine = (text: string): string => (text.split('\n')[0] ?? '').replaceAll('|', '\\|')
/** The highest resident memory seen once the server was ready: after start, during and after the idle window. */
const steadyRss = (phase: ParcelsPhase): number | null => phase.start.rssReadyMiB === null
  ? null
  : Math.max(phase.start.rssReadyMiB, phase.idle?.rssAfterMiB ?? 0, phase.idle?.rssMaxMiB ?? 0)
const idleCpu = (phase: ParcelsPhase): number | null => phase.idle === null ? null : Math.round((phase.idle.cpuPercent.server + phase.idle.cpuPercent.database) * 10) / 10
const startText = (phase: ParcelsPhase): string => phase.start.error !== null
  ? `did not start${phase.start.failedAfterS === null ? '' : ` (gave up after ${phase.start.failedAfterS} s)`}: ${firstLine(phase.start.error)}`
  : `ready after ${phase.start.readyS} s (banner ${phase.start.bannerS} s); RSS ${n(phase.start.rssReadyMiB)} MiB after start, ${n(phase.idle?.rssAfterMiB)} MiB after ${n(phase.idle?.seconds)} s of idle sweeps (at most ${n(phase.idle?.rssMaxMiB)}); idle CPU ${phase.idle?.cpuPercent.server ?? '–'} % server + ${phase.idle?.cpuPercent.database ?? '–'} % its PostgreSQL backends`

function parcelsTargets (scale: ParcelScale, file: ParcelsFile): string[] {
  const { loaded, empty } = file
  const rows: string[] = []
  const rss = steadyRss(loaded)
  const cpu = idleCpu(loaded)
  const met = loaded.seed.parcels >= scale.parcels && loaded.seed.inTransit >= scale.inTransit && loaded.start.readyS !== null &&
    loaded.start.readyS <= scale.readyS && rss !== null && rss <= scale.rssMiB && cpu !== null && cpu <= scale.cpuPercent &&
    (loaded.idle?.seconds ?? 0) >= 300 && loaded.error === null
  rows.push(`| ${n(scale.parcels)} parcels stored, ${n(scale.inTransit)} in transit: ready in ≤ ${scale.readyS} s, RSS ≤ ${scale.rss} (after start and after 5 minutes of sweeps), idle sweep CPU ≤ ${scale.cpuPercent} % of a core (server and its PostgreSQL backends) | ${n(loaded.seed.parcels)} parcels (${n(loaded.seed.inTransit)} in transit): ${startText(loaded)} | ${n(empty.seed.parcels)} parcels: ${startText(empty)} | RSS ${ratioOf(rss, steadyRss(empty))} | ${mark(met)} |`)
  if (scale.endpoints) {
    for (const target of [TRACKING, SEARCH]) {
      const big = loaded.runs.find((r) => r.target === target)
      const small = empty.runs.find((r) => r.target === target)
      const wide = loaded.spread?.runs.find((r) => r.target === target)
      const ok = big !== undefined && small !== undefined && big.requestsPerS >= 0.8 * small.requestsPerS && big.latencyMs.p99 <= 25 &&
        big.non2xx + big.errors === 0 && loaded.seed.parcels >= scale.parcels
      const measured = big === undefined
        ? (loaded.error === null ? 'not measured' : `not measured: ${firstLine(loaded.error)}`)
        : `${n(loaded.seed.parcels)} parcels, asked for as many distinct ones as the baseline (${asked(loaded.asked)}): ${n(big.requestsPerS)} req/s, p99 ${big.latencyMs.p99} ms, ${n(big.non2xx + big.errors)} errors` +
          (wide === undefined || loaded.spread === null ? '' : `; across ${asked(loaded.spread.asked)}: ${n(wide.requestsPerS)} req/s, p99 ${wide.latencyMs.p99} ms`)
      rows.push(`| ${target} at ${n(scale.parcels)} parcels ≥ 0.8 × the same on an empty database, p99 ≤ 25 ms | ${measured} | ${small === undefined ? 'not measured' : `${n(empty.seed.parcels)} parcels (${asked(empty.asked)}): ${n(small.requestsPerS)} req/s, p99 ${small.latencyMs.p99} ms`} | ${big === undefined || small === undefined ? '–' : ratio(big.requestsPerS, small.requestsPerS)} | ${mark(ok)} |`)
    }
  }
  const ingest = file.ingest
  if (ingest !== null) {
    const { plain, engine } = ingest
    const o = file.options.ingest
    const p99 = engine?.fleet.ackLatencyMs.p99 ?? null
    const plainP99 = plain?.fleet.ackLatencyMs.p99 ?? null
    const ok = engine !== null && plain !== null && o !== null && engine.fixesPerSMean >= 20_000 && engine.lost === 0 && p99 !== null && plainP99 !== null &&
      p99 <= 2 * plainP99 && o.durationS >= 60 && o.devices >= 5000
    rows.push(`| the durable ingest with the tracking engine loaded on ${n(loaded.seed.parcels)} parcels ≥ 20,000 fixes/s, ack p99 ≤ 2 × the same ingest without the engine | ${engine === null ? `not measured${ingest.error === null ? '' : `: ${firstLine(ingest.error)}`}` : `${n(engine.fixesPerSMean)} fixes/s acknowledged (slowest second ${n(engine.fixesPerSMin)}) of ${n(engine.offeredFixesPerS)} offered, ack p99 ${n(p99)} ms, ${n(engine.lost)} lost, ${n(engine.milestonesPerS)} milestones/s; ${n(o?.devices)} devices, ${n(o?.durationS)} s`} | ${plain === null ? 'not measured' : `empty database, no engine: ${n(plain.fixesPerSMean)} fixes/s, ack p99 ${n(plainP99)} ms`} | ${p99 === null || plainP99 === null ? '–' : `p99 ${ratio(p99, plainP99)}`} | ${mark(ok)} |`)
  }
  return rows
}

/** Each size beside the thousand-parcel database measured in the same run. */
function parcelsSection (files: ParcelsFile[]): string[] {
  const lines = ['## Parcels by the million', '',
    'A database filled by `npm run bench -- parcels --parcels <N>` (generated inside PostgreSQL, indexes rebuilt after): 90 % delivered over the last year with nine milestones each and a KPI outcome, 10 % on their way (stopped at every step, those out for delivery aboard one of 5,000 vans, one in fifty stalled with an open exception). The server starts on it as `npm start` runs it; nothing is sent while it idles; then autocannon asks for parcels half on their way, half delivered. The baseline is the same server, endpoints and load on a database of 1,000 parcels, a few minutes apart in the same run.']
  for (const file of files) {
    const { loaded, empty, options } = file
    const seed = loaded.seed
    const rows = Object.entries(seed.rows).map(([table, count]) => `${n(count)} ${table}`).join(', ')
    lines.push('', `### ${n(seed.parcels)} parcels`, '',
      `Seeded ${rows} (${n(seed.delivered)} delivered, ${n(seed.inTransit)} in transit, ${n(seed.aboard)} aboard vans, ${n(seed.stalled)} stalled) in ${seed.seconds.total} s: rows ${seed.seconds.rows} s, indexes and keys ${seed.seconds.indexes} s, VACUUM ANALYZE ${seed.seconds.vacuum} s; ${n(seed.rowsPerS)} rows/s, ${n(seed.parcelsPerS)} parcels/s. ` +
        `${seed.endedAt ? 'parcels.ended_at filled. ' : ''}${seed.skipped.length === 0 ? '' : `Not in this schema, so left out: ${seed.skipped.join('; ')}. `}` +
        `Autocannon: ${options.connections} connections for tracking and ${options.searchConnections ?? options.connections} for search (an ops desk), ${options.durationS} s per endpoint after a warm-up pass, every other request for a parcel on its way; like for like, as many distinct parcels as the small database has (there ${asked(empty.asked)}, here ${asked(loaded.asked)}), then spread across ${loaded.spread === null ? '–' : asked(loaded.spread.asked)}, more than any cache of the server holds.`, '',
      `| | ${n(empty.seed.parcels)} parcels (baseline) | ${n(seed.parcels)} parcels | ratio |`, '|---|---|---|---|')
    const ready = (phase: ParcelsPhase): string => phase.start.error !== null ? `did not start (gave up after ${phase.start.failedAfterS ?? '–'} s)` : `${phase.start.bannerS} / ${phase.start.readyS}`
    lines.push(`| spawn → banner / first 200 from /readyz, s | ${ready(empty)} | ${ready(loaded)} | ${ratioOf(loaded.start.readyS, empty.start.readyS)} |`)
    lines.push(`| RSS after start (high-water mark), MiB | ${n(empty.start.rssReadyMiB)} (${n(empty.start.rssPeakMiB)}) | ${n(loaded.start.rssReadyMiB)} (${n(loaded.start.rssPeakMiB)}) | ${ratioOf(loaded.start.rssReadyMiB, empty.start.rssReadyMiB)} |`)
    lines.push(`| RSS after the idle window (highest in it), MiB | ${n(empty.idle?.rssAfterMiB)} (${n(empty.idle?.rssMaxMiB)}) after ${n(empty.idle?.seconds)} s | ${n(loaded.idle?.rssAfterMiB)} (${n(loaded.idle?.rssMaxMiB)}) after ${n(loaded.idle?.seconds)} s | ${ratioOf(loaded.idle?.rssAfterMiB, empty.idle?.rssAfterMiB)} |`)
    lines.push(`| idle CPU, % of a core: server + its PostgreSQL backends | ${empty.idle?.cpuPercent.server ?? '–'} + ${empty.idle?.cpuPercent.database ?? '–'} | ${loaded.idle?.cpuPercent.server ?? '–'} + ${loaded.idle?.cpuPercent.database ?? '–'} | ${ratioOf(idleCpu(loaded), idleCpu(empty))} |`)
    const cell = (run: ParcelsPhase['runs'][number] | undefined): string => run === undefined ? '–' : `${n(run.requestsPerS)} req/s, ${run.latencyMs.p50} / ${run.latencyMs.p99} ms${run.non2xx + run.errors > 0 ? `, ${n(run.non2xx + run.errors)} errors` : ''}, CPU ${run.usage.server?.cpuPercent ?? '–'} % server + ${run.usage.database?.cpuPercent ?? '–'} % PostgreSQL`
    for (const target of [TRACKING, SEARCH]) {
      const small = empty.runs.find((r) => r.target === target)
      const big = loaded.runs.find((r) => r.target === target)
      lines.push(`| ${target}, like for like: req/s, p50 / p99 | ${cell(small)} | ${cell(big)} | ${big === undefined || small === undefined ? '–' : ratio(big.requestsPerS, small.requestsPerS)} |`)
    }
    for (const target of [TRACKING, SEARCH]) {
      const wide = loaded.spread?.runs.find((r) => r.target === target)
      if (wide !== undefined && loaded.spread !== null) lines.push(`| ${target}, across ${asked(loaded.spread.asked)} | – | ${cell(wide)} | – |`)
    }
    for (const [name, phase] of [['the baseline', empty], [`${n(seed.parcels)} parcels`, loaded]] as const) {
      if (phase.error !== null) lines.push('', `On ${name} the server ${phase.start.error === null ? 'failed during the measurements' : 'did not start'}:`, '', '```', ...phase.error.split('\n').slice(0, 6), '```')
    }
    const ingest = file.ingest
    if (ingest !== null) {
      lines.push('', `Durable ingest, ${n(options.ingest?.devices)} devices × ${options.ingest?.hz} Hz × ${options.ingest?.fixesPerMessage} fixes, QoS ${options.ingest?.qos}, ${n(options.ingest?.durationS)} s:`, '',
        '| run | sustained fixes/s (median / slowest second) | committed rows/s | lost | ack p50 / p99 ms | milestones/s | CPU % (server / generator / PostgreSQL) |', '|---|---|---|---|---|---|---|')
      for (const [name, run] of [['empty database, no engine', ingest.plain], [`${n(seed.parcels)} parcels, engine loaded (ready after ${ingest.start?.readyS ?? '–'} s)`, ingest.engine]] as const) {
        if (run === null) { lines.push(`| ${name} | not measured | | | | | |`); continue }
        lines.push(`| ${name} | ${n(run.fixesPerSMean)} (${n(run.fixesPerS)} / ${n(run.fixesPerSMin)}) | ${n(run.committedPerS)} | ${n(run.lost)} | ${n(run.fleet.ackLatencyMs.p50)} / ${n(run.fleet.ackLatencyMs.p99)} | ${n(run.milestonesPerS)} | ${run.usage.trackstream?.cpuPercent ?? '–'} / ${run.usage['load generator']?.cpuPercent ?? '–'} / ${run.usage.postgres?.cpuPercent ?? '–'} |`)
      }
      if (ingest.error !== null) lines.push('', `The ingest on the parcels: ${firstLine(ingest.error)}`)
    }
  }
  return lines
}
