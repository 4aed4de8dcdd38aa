/** Latencies in whole milliseconds, counted in buckets: cheap to record millions and to merge. */
export class Histogram {
  private readonly counts: number[] = []
  count = 0

  record (ms: number): void {
    const bucket = Math.max(0, Math.round(ms))
    this.counts[bucket] = (this.counts[bucket] ?? 0) + 1
    this.count++
  }

  merge (other: { counts: number[] }): void {
    other.counts.forEach((n, bucket) => {
      if (n === undefined || n === null) return
      this.counts[bucket] = (this.counts[bucket] ?? 0) + n
      this.count += n
    })
  }

  toJSON (): { counts: number[] } {
    return { counts: Array.from(this.counts, (n) => n ?? 0) }
  }

  percentile (p: number): number | null {
    if (this.count === 0) return null
    const rank = Math.ceil(this.count * p / 100)
    let seen = 0
    for (let bucket = 0; bucket < this.counts.length; bucket++) {
      seen += this.counts[bucket] ?? 0
      if (seen >= rank) return bucket
    }
    return this.counts.length - 1
  }

  summary (): { count: number, p50: number | null, p95: number | null, p99: number | null, max: number | null } {
    return { count: this.count, p50: this.percentile(50), p95: this.percentile(95), p99: this.percentile(99), max: this.percentile(100) }
  }
}
