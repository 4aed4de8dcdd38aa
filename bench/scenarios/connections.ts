import { Fleet, type FleetResult } from '../lib/fleet.js'
import { pidsOf, Sampler, type ProcessUsage } from '../lib/sampler.js'
import { benchDatabase, countRows, DEVICE_SECRET, seedTrackers, startAedesAlone, startMosquitto, startTrackstream, type Target } from '../lib/stage.js'

export interface ConnectionsOptions {
  devices: number
  /** seconds between a device's fixes */
  everyS: number
  durationS: number
}

export interface ConnectionsRun {
  target: string
  connected: number
  connectSeconds: number
  fixesPerS: number
  committedPerS: number | null
  lost: number | null
  fleet: FleetResult
  usage: Record<string, ProcessUsage>
}

/** Many mostly idle devices: what holding connections costs in memory, against the broker alone and Mosquitto. */
export async function connections (options: ConnectionsOptions, log: (line: string) => void): Promise<{ database: string, runs: ConnectionsRun[] }> {
  const db = await benchDatabase('trackstream_bench')
  try {
    const ids = await seedTrackers(db, options.devices)
    const runs: ConnectionsRun[] = []
    const starters: Array<() => Promise<Target | null>> = [startAedesAlone, startMosquitto, async () => await startTrackstream(db.url)]
    for (const start of starters) {
      const target = await start()
      if (target === null) continue
      const sampler = new Sampler([
        { name: target.name, pids: () => [target.pid] },
        ...(target.name === 'trackstream' ? [{ name: 'postgres', pids: () => pidsOf('postgres') }] : [])
      ])
      sampler.start()
      const connecting = Date.now()
      const fleet = await Fleet.connect(target.host, target.mqttPort, ids, DEVICE_SECRET, 3750)
      const connectSeconds = (Date.now() - connecting) / 1000
      log(`${target.name}: ${fleet.devices} devices connected in ${connectSeconds} s`)
      const before = target.name === 'trackstream' ? await countRows(db, 'positions') : 0
      const result = await fleet.run({ durationMs: options.durationS * 1000, hz: 1 / options.everyS, qos: 1, fixesPerMessage: 1, format: 'json', window: 8, drainMs: 10_000 })
      const usage = sampler.stop()
      fleet.close()
      await target.stop()
      const committed = target.name === 'trackstream' ? await countRows(db, 'positions') - before : null
      runs.push({
        target: target.name,
        connected: fleet.devices,
        connectSeconds,
        fixesPerS: Math.round(result.ackedFixes / options.durationS),
        committedPerS: committed === null ? null : Math.round(committed / options.durationS),
        lost: committed === null ? null : Math.max(0, result.ackedFixes - committed),
        fleet: result,
        usage
      })
      log(`${target.name}: RSS max ${usage[target.name]?.rssMaxMiB} MiB, ${Math.round(result.ackedFixes / options.durationS)} fixes/s`)
    }
    return { database: db.server, runs }
  } finally {
    await db.drop()
  }
}
