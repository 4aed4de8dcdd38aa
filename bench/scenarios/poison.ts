import mqtt from 'mqtt'
import { Fleet, type FleetResult } from '../lib/fleet.js'
import type { RunPlan } from '../lib/fleet-protocol.js'
import { pidsOf, Sampler, type ProcessUsage } from '../lib/sampler.js'
import { benchDatabase, countRows, DEVICE_SECRET, seedTrackers, startTrackstream } from '../lib/stage.js'
import { median } from './ingest.js'

export interface PoisonOptions {
  /** healthy trackers, each publishing one fix per message */
  devices: number
  hz: number
  /** poisoned messages per second, from one more device */
  poisonPerS: number
  durationS: number
  window: number
}

/**
 * What one device that sends rows the database would refuse costs everybody else. Three runs of
 * the same healthy fleet on one server build, one after the other:
 * - clean: the healthy fleet alone, the baseline;
 * - refused early: beside a device sending values PostgreSQL refuses (speeds and altitudes that
 *   underflow a real, which once reached the database), now refused by validation;
 * - refused by the database: beside a device sending a value only the database refuses (a CHECK
 *   constraint the bench adds to positions), so the group commit must find and set aside the
 *   refused message inside a batch of everybody's.
 * The verdict is each poisoned run's healthy rate against the clean one's (target ≥ 0.9).
 */
export interface PoisonRun {
  name: 'clean' | 'refused-early' | 'refused-by-database'
  healthyFixesPerS: number
  slowestSecond: number
  ackP99Ms: number
  poisonSent: number
  poisonAcked: number
  /** messages of the poisoned device kept in ingest_rejects */
  poisonKept: number
  lost: number
  fleet: FleetResult
  usage: Record<string, ProcessUsage>
}

const WARMUP_S = 3
/** passes every check trackstream makes, but not the bench's own CHECK constraint */
const DATABASE_ONLY_ACCURACY = 12345.5

export async function poison (options: PoisonOptions, log: (line: string) => void): Promise<{ database: string, runs: PoisonRun[] }> {
  const db = await benchDatabase('trackstream_bench_poison')
  try {
    const ids = await seedTrackers(db, options.devices + 1)
    const healthy = ids.slice(0, options.devices)
    const poisoner = ids[options.devices] as string
    await db.pool.query(`ALTER TABLE positions ADD CONSTRAINT bench_refused_only_here CHECK (accuracy IS DISTINCT FROM ${DATABASE_ONLY_ACCURACY})`)
    const plan: RunPlan = { durationMs: options.durationS * 1000, hz: options.hz, qos: 1, fixesPerMessage: 1, format: 'json', window: options.window, drainMs: 10_000 }
    const runs: PoisonRun[] = []
    for (const name of ['clean', 'refused-early', 'refused-by-database'] as const) {
      const target = await startTrackstream(db.url)
      const fleet = await Fleet.connect(target.host, target.mqttPort, healthy, DEVICE_SECRET)
      const before = await countRows(db, 'positions')
      const rejectsBefore = await rejectsOf(db, poisoner)
      const sampler = new Sampler([{ name: 'trackstream', pids: () => [target.pid] }, { name: 'load generator', pids: () => fleet.pids }, { name: 'postgres', pids: () => pidsOf('postgres') }])
      sampler.start()
      const stopPoison = name === 'clean' ? undefined : await startPoison(target.mqttPort, poisoner, options.poisonPerS, name)
      log(`poison ${name}: ${options.devices} devices at ${options.hz} Hz${stopPoison === undefined ? '' : `, beside ${poisoner} sending ${options.poisonPerS} poisoned messages/s`}`)
      const result = await fleet.run(plan)
      const poisoned = await stopPoison?.()
      const usage = sampler.stop()
      fleet.close()
      await target.stop()
      const committed = await countRows(db, 'positions') - before
      const steady = result.ackedPerSecond.slice(WARMUP_S, options.durationS)
      runs.push({
        name,
        healthyFixesPerS: Math.round(steady.reduce((sum, n) => sum + n, 0) / Math.max(1, steady.length)),
        slowestSecond: Math.min(...steady),
        ackP99Ms: result.ackLatencyMs.p99 ?? -1,
        poisonSent: poisoned?.sent ?? 0,
        poisonAcked: poisoned?.acked ?? 0,
        poisonKept: await rejectsOf(db, poisoner) - rejectsBefore,
        lost: Math.max(0, result.ackedFixes - committed),
        fleet: result,
        usage
      })
      const run = runs.at(-1) as PoisonRun
      log(`poison ${name}: healthy ${run.healthyFixesPerS} fixes/s (median second ${median(steady)}, slowest ${run.slowestSecond}), ack p99 ${run.ackP99Ms} ms; poison ${run.poisonAcked}/${run.poisonSent} acknowledged, ${run.poisonKept} kept as refused`)
    }
    return { database: db.server, runs }
  } finally {
    await db.drop()
  }
}

async function rejectsOf (db: Awaited<ReturnType<typeof benchDatabase>>, deviceId: string): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM ingest_rejects WHERE device_id = $1', [deviceId])
  return rows[0]?.n ?? 0
}

/** One real MQTT client sending poisoned QoS 1 messages at a steady rate; stop() says how many went and were acknowledged. */
async function startPoison (port: number, deviceId: string, perS: number, kind: 'refused-early' | 'refused-by-database'): Promise<() => Promise<{ sent: number, acked: number }>> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { username: deviceId, password: DEVICE_SECRET, clientId: deviceId, reconnectPeriod: 0 })
  let sent = 0
  let acked = 0
  const pending = new Set<Promise<void>>()
  const payload = (n: number): string => {
    const base = { time: Date.now() - 1000, lat: 45.2 + n / 1e6, lon: 13.6, seq: n }
    return JSON.stringify(kind === 'refused-by-database'
      ? { ...base, accuracy: DATABASE_ONLY_ACCURACY }
      : [{ ...base, speed: 8e-323 }, { ...base, time: base.time + 1, altitude: -1e-300 }][n % 2])
  }
  const timer = setInterval(() => {
    const n = sent++
    const done = client.publishAsync(`ts/v1/${deviceId}/fix`, payload(n), { qos: 1 }).then(() => { acked++ }, () => {})
      .finally(() => { pending.delete(done) })
    pending.add(done)
  }, 1000 / perS)
  return async () => {
    clearInterval(timer)
    await Promise.race([Promise.all(pending), new Promise((resolve) => setTimeout(resolve, 10_000))])
    await client.endAsync(true)
    return { sent, acked }
  }
}
