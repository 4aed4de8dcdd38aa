import type { ChildProcess } from 'node:child_process'
import { Histogram } from './percentiles.js'
import type { ViewerCommand, ViewerCounts, ViewerReport } from './viewers-protocol.js'
import { nextMessage, startWorker } from './workers.js'

export interface ViewerResult extends ViewerCounts {
  viewers: number
  latencyMs: ReturnType<Histogram['summary']>
}

/** How ops viewers ask for their feed; see ViewerCommand. */
export interface FeedOptions {
  format?: 'json' | 'protobuf'
  /** aligned with the urls */
  decode?: boolean[]
}

/** WebSocket viewers spread over worker processes. */
export class Viewers {
  private constructor (private readonly workers: ChildProcess[], readonly count: number) {}

  static async open (
    urls: string[],
    headers: Record<string, string>,
    viewports?: Array<[number, number, number, number] | null>,
    perWorker = 1000,
    feed: FeedOptions = {}
  ): Promise<Viewers> {
    const workers: ChildProcess[] = []
    for (let i = 0; i < urls.length; i += perWorker) {
      const worker = startWorker('./viewers-worker.ts')
      workers.push(worker)
      worker.send({ type: 'open', urls: urls.slice(i, i + perWorker), headers, viewports: viewports?.slice(i, i + perWorker), format: feed.format, decode: feed.decode?.slice(i, i + perWorker) } satisfies ViewerCommand)
      const reply = await nextMessage<Extract<ViewerReport, { type: 'opened' }>>(worker, 'opened')
      if (reply.failed > 0) throw new Error(`${reply.failed} viewers could not connect`)
    }
    return new Viewers(workers, urls.length)
  }

  get pids (): number[] {
    return this.workers.map((w) => w.pid ?? 0)
  }

  async reset (): Promise<void> {
    await Promise.all(this.workers.map(async (worker) => {
      worker.send({ type: 'reset' } satisfies ViewerCommand)
      await nextMessage(worker, 'reset')
    }))
  }

  async report (): Promise<ViewerResult> {
    const replies = await Promise.all(this.workers.map(async (worker) => {
      worker.send({ type: 'report' } satisfies ViewerCommand)
      return await nextMessage<Extract<ViewerReport, { type: 'report' }>>(worker, 'report')
    }))
    const latency = new Histogram()
    for (const reply of replies) latency.merge(reply.latency)
    const sum = (key: keyof ViewerCounts): number => replies.reduce((n, r) => n + r[key], 0)
    return {
      viewers: this.count,
      frames: sum('frames'),
      items: sum('items'),
      bytes: sum('bytes'),
      wireBytes: sum('wireBytes'),
      snapshots: sum('snapshots'),
      snapshotBytes: sum('snapshotBytes'),
      latencyMs: latency.summary()
    }
  }

  close (): void {
    for (const worker of this.workers) worker.send({ type: 'close' } satisfies ViewerCommand)
  }
}
