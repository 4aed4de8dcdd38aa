/**
 * What the pipeline remembers per device between messages: the latest fix time, and the
 * identities of its most recent fixes and scans so a redelivered message is stored once.
 * In memory; after a restart the latest times are reloaded and the database's unique keys
 * catch any redelivery the memory no longer holds.
 */
export class DeviceState {
  latestFixTime = -Infinity
  private readonly recent = new Set<string>()
  /** insertion order, to forget the oldest key once the window is full */
  private readonly order: string[] = []
  private next = 0

  constructor (private readonly window: number) {}

  /** True if the key was seen recently; remembers it otherwise. */
  seen (key: string): boolean {
    if (this.recent.has(key)) return true
    const evicted = this.order[this.next]
    if (evicted !== undefined) this.recent.delete(evicted)
    this.order[this.next] = key
    this.recent.add(key)
    this.next = (this.next + 1) % this.window
    return false
  }
}

export class DeviceStateStore {
  private readonly states = new Map<string, DeviceState>()

  constructor (private readonly window = 64) {}

  get (deviceId: string): DeviceState {
    let state = this.states.get(deviceId)
    if (state === undefined) {
      state = new DeviceState(this.window)
      this.states.set(deviceId, state)
    }
    return state
  }

  restoreLatest (deviceId: string, time: number): void {
    this.get(deviceId).latestFixTime = time
  }
}
