import type { ChildProcess } from 'node:child_process'
import type { FleetCommand, FleetCounts, FleetReport, RunPlan } from './fleet-protocol.js'
import { Histogram } from './percentiles.js'
import { nextMessage, startWorker } from './workers.js'

export interface FleetResult extends FleetCounts {
  devices: number
  unacked: number
  durationMs: number
  ackLatencyMs: ReturnType<Histogram['summary']>
  /** acknowledged fixes per second, one entry per second of the run */
  ackedPerSecond: number[]
}

/** Simulated devices spread over worker processes, so each stays far below the open-file limit. */
export class Fleet {
  private constructor (readonly workers: ChildProcess[], readonly devices: number) {}

  static async connect (host: string, port: number, ids: string[], secret: string, perWorker = 4000, tags?: string[][]): Promise<Fleet> {
    const workers: ChildProcess[] = []
    let connected = 0
    for (let offset = 0; offset < ids.length; offset += perWorker) {
      const worker = startWorker('./fleet-worker.ts')
      workers.push(worker)
      const command: FleetCommand = { type: 'connect', host, port, ids: ids.slice(offset, offset + perWorker), secret, offset, tags: tags?.slice(offset, offset + perWorker) }
      worker.send(command)
      const reply = await nextMessage<Extract<FleetReport, { type: 'connected' }>>(worker, 'connected')
      if (reply.failed > 0) throw new Error(`${reply.failed} simulated devices could not connect`)
      connected += reply.count
    }
    return new Fleet(workers, connected)
  }

  get pids (): number[] {
    return this.workers.map((w) => w.pid ?? 0)
  }

  async run (plan: RunPlan): Promise<FleetResult> {
    const latest = new Map<ChildProcess, FleetCounts>()
    const perSecond: number[] = []
    let previous = 0
    const onProgress = (worker: ChildProcess) => (message: FleetReport) => {
      if (message.type === 'progress') latest.set(worker, message)
    }
    const listeners = this.workers.map((worker) => {
      const listener = onProgress(worker)
      worker.on('message', listener)
      return listener
    })
    const ticker = setInterval(() => {
      const total = [...latest.values()].reduce((n, c) => n + (plan.qos === 1 ? c.ackedFixes : c.sentFixes), 0)
      perSecond.push(total - previous)
      previous = total
    }, 1000)
    const started = Date.now()
    const done = await Promise.all(this.workers.map(async (worker) => {
      worker.send({ type: 'run', plan } satisfies FleetCommand)
      return await nextMessage<Extract<FleetReport, { type: 'done' }>>(worker, 'done')
    }))
    clearInterval(ticker)
    this.workers.forEach((worker, i) => { worker.off('message', listeners[i] as (m: FleetReport) => void) })
    const latency = new Histogram()
    for (const d of done) latency.merge(d.ackLatency)
    const sum = (key: keyof FleetCounts | 'unacked'): number => done.reduce((n, d) => n + d[key], 0)
    return {
      devices: this.devices,
      sent: sum('sent'),
      sentFixes: sum('sentFixes'),
      acked: sum('acked'),
      ackedFixes: sum('ackedFixes'),
      heldBack: sum('heldBack'),
      unacked: sum('unacked'),
      durationMs: Date.now() - started,
      ackLatencyMs: latency.summary(),
      ackedPerSecond: perSecond
    }
  }

  close (): void {
    for (const worker of this.workers) worker.send({ type: 'close' } satisfies FleetCommand)
  }
}
