import { Fleet, type FleetResult } from '../lib/fleet.js'
import { pidsOf, Sampler, type ProcessUsage } from '../lib/sampler.js'
import { benchDatabase, countRows, DEVICE_SECRET, seedReaders, startTrackstream } from '../lib/stage.js'
import { Viewers, type ViewerResult } from '../lib/viewers.js'

export interface RfidOptions {
  readers: number
  /** tags a reader reads per second */
  hz: number
  /** times each tag is reported while in range */
  reads: number
  buyers: number
  durationS: number
}

export interface RfidRun {
  scansPerS: number
  readRowsPerS: number
  milestonesPerS: number
  fleet: FleetResult
  buyers: ViewerResult
  usage: Record<string, ProcessUsage>
}

/**
 * Sort-station readers reporting each tag several times, parcels getting one milestone per visit,
 * and buyers' pages on /ws/track/<token> receiving those milestones.
 */
export async function rfid (options: RfidOptions, log: (line: string) => void): Promise<{ database: string, run: RfidRun }> {
  const perReader = Math.ceil(options.hz * options.durationS) + 10
  const db = await benchDatabase('trackstream_bench')
  try {
    const setup = await seedReaders(db, options.readers, perReader)
    const target = await startTrackstream(db.url)
    const fleet = await Fleet.connect(target.host, target.mqttPort, setup.ids, DEVICE_SECRET, 4000, setup.tags)
    // buyers of parcels read during the run: spread over each reader's first tags
    const perReaderBuyers = Math.max(1, Math.round(options.buyers / options.readers))
    const spacing = Math.max(1, Math.floor((options.hz * options.durationS - 2) / perReaderBuyers))
    const tokens = setup.ids.flatMap((_, r) => Array.from({ length: perReaderBuyers }, (_, k) => setup.tokens[r * perReader + 2 + k * spacing] as string))
    const buyers = await Viewers.open(tokens.map((token) => `ws://127.0.0.1:${target.httpPort}/ws/track/${token}`), {})
    const sampler = new Sampler([
      { name: 'trackstream', pids: () => [target.pid] },
      { name: 'load generator', pids: () => fleet.pids },
      { name: 'buyers', pids: () => buyers.pids },
      { name: 'postgres', pids: () => pidsOf('postgres') }
    ])
    sampler.start()
    log(`${options.readers} readers × ${options.hz} tags/s × ${options.reads} reads, ${tokens.length} buyers, ${options.durationS} s`)
    const result = await fleet.run({
      kind: 'scan', durationMs: options.durationS * 1000, hz: options.hz, qos: 1, fixesPerMessage: options.reads, format: 'json', window: 8, drainMs: 5000
    })
    const usage = sampler.stop()
    await new Promise((resolve) => setTimeout(resolve, 500))
    const run: RfidRun = {
      scansPerS: Math.round(result.ackedFixes / options.durationS),
      readRowsPerS: Math.round(await countRows(db, 'rfid_reads') / options.durationS),
      milestonesPerS: Math.round(await countRows(db, 'milestones') / options.durationS),
      fleet: result,
      buyers: await buyers.report(),
      usage
    }
    log(`${run.scansPerS} scans/s, ${run.milestonesPerS} milestones/s, buyer p99 ${run.buyers.latencyMs.p99} ms`)
    buyers.close()
    fleet.close()
    await target.stop()
    return { database: db.server, run }
  } finally {
    await db.drop()
  }
}
