/** A map that keeps the `capacity` most recently used entries: a Map keeps insertion order, so the first key is the oldest. */
export class LruMap<K, V> {
  private readonly entries = new Map<K, V>()

  constructor (private readonly capacity: number) {}

  get size (): number {
    return this.entries.size
  }

  get (key: K): V | undefined {
    const value = this.entries.get(key)
    if (value === undefined) return undefined
    this.entries.delete(key)
    this.entries.set(key, value)
    return value
  }

  set (key: K, value: V): void {
    this.entries.delete(key)
    this.entries.set(key, value)
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as K)
  }

  delete (key: K): void {
    this.entries.delete(key)
  }
}
