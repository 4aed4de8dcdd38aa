import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

const TICKS = 100 // USER_HZ on Linux
const PAGE = 4096

export interface ProcessUsage {
  /** average CPU over the run, in percent of one core */
  cpuPercent: number
  /** highest resident memory seen, MiB */
  rssMaxMiB: number
}

type Target = { name: string, pids: () => number[] }

/**
 * Samples CPU time and resident memory of named process groups from /proc, once a second. A group
 * is re-resolved each time (PostgreSQL forks a backend per connection).
 */
export class Sampler {
  private readonly first = new Map<string, { ticks: number, at: number }>()
  private readonly last = new Map<string, { ticks: number, at: number }>()
  private readonly rss = new Map<string, number>()
  private timer: NodeJS.Timeout | undefined

  constructor (private readonly targets: Target[]) {}

  start (): void {
    this.sample()
    this.timer = setInterval(() => { this.sample() }, 1000)
  }

  stop (): Record<string, ProcessUsage> {
    clearInterval(this.timer)
    this.sample()
    const usage: Record<string, ProcessUsage> = {}
    for (const { name } of this.targets) {
      const a = this.first.get(name)
      const b = this.last.get(name)
      const seconds = a === undefined || b === undefined ? 0 : (b.at - a.at) / 1000
      usage[name] = {
        cpuPercent: seconds === 0 || a === undefined || b === undefined ? 0 : Math.round((b.ticks - a.ticks) / TICKS / seconds * 1000) / 10,
        rssMaxMiB: Math.round((this.rss.get(name) ?? 0) / 2 ** 20)
      }
    }
    return usage
  }

  private sample (): void {
    const at = Date.now()
    for (const { name, pids } of this.targets) {
      let ticks = 0
      let rss = 0
      for (const pid of pids()) {
        const stat = readProc(pid)
        if (stat === undefined) continue
        ticks += stat.ticks
        rss += stat.rss
      }
      if (!this.first.has(name)) this.first.set(name, { ticks, at })
      this.last.set(name, { ticks, at })
      this.rss.set(name, Math.max(this.rss.get(name) ?? 0, rss))
    }
  }
}

function readProc (pid: number): { ticks: number, rss: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // fields after the command name, which may hold spaces: 14 utime, 15 stime, 24 rss (pages)
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { ticks: Number(fields[11]) + Number(fields[12]), rss: Number(fields[21]) * PAGE }
  } catch {
    return undefined
  }
}

/** Every process of a program, e.g. all postgres backends. */
export function pidsOf (program: string): number[] {
  try {
    return execFileSync('pgrep', ['-x', program], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number)
  } catch {
    return []
  }
}
