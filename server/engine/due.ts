/**
 * Keys (parcel ids) in the order of a due time: a binary min-heap with lazy deletion. Scheduling
 * a key again supersedes its earlier time; taking what is due skips superseded entries. Cost per
 * operation is log(n), and a sweep touches only what is due, however many keys are waiting.
 */
export class DueIndex {
  private readonly heap: Array<{ at: number, key: string }> = []
  /** Each key's current due time: an entry with another time is superseded. */
  private readonly current = new Map<string, number>()

  get size (): number {
    return this.current.size
  }

  dueAt (key: string): number | undefined {
    return this.current.get(key)
  }

  schedule (key: string, at: number): void {
    if (this.current.get(key) === at) return
    this.current.set(key, at)
    this.push({ at, key })
    // superseded entries pile up when keys are rescheduled often: rebuild once they outnumber the live ones
    if (this.heap.length > 2 * this.current.size + 1024) this.rebuild()
  }

  /** The earliest due time waiting, if any (possibly of a superseded entry: never later than the true one). */
  nextAt (): number | undefined {
    return this.heap[0]?.at
  }

  cancel (key: string): void {
    this.current.delete(key)
  }

  /** Takes every key due at or before `now`, earliest first, at most `limit` of them. */
  takeDue (now: number, limit = Number.POSITIVE_INFINITY): string[] {
    const due: string[] = []
    while (due.length < limit) {
      const top = this.heap[0]
      if (top === undefined || top.at > now) break
      this.pop()
      if (this.current.get(top.key) !== top.at) continue
      this.current.delete(top.key)
      due.push(top.key)
    }
    return due
  }

  private rebuild (): void {
    this.heap.length = 0
    for (const [key, at] of this.current) this.push({ at, key })
  }

  private push (entry: { at: number, key: string }): void {
    const heap = this.heap
    heap.push(entry)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if ((heap[parent] as { at: number }).at <= entry.at) break
      heap[i] = heap[parent] as { at: number, key: string }
      i = parent
    }
    heap[i] = entry
  }

  private pop (): void {
    const heap = this.heap
    const last = heap.pop()
    if (last === undefined || heap.length === 0) return
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      if (left >= heap.length) break
      const right = left + 1
      const child = right < heap.length && (heap[right] as { at: number }).at < (heap[left] as { at: number }).at ? right : left
      if ((heap[child] as { at: number }).at >= last.at) break
      heap[i] = heap[child] as { at: number, key: string }
      i = child
    }
    heap[i] = last
  }
}
