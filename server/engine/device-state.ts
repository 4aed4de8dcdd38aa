/**
 * What the pipeline remembers per device between messages: the latest fix time, and the
 * identities of its most recent fixes and scans so a redelivered message is stored once.
 * In memory; after a restart the latest times are reloaded and the database's unique keys
 * catch any redelivery the memory no longer holds.
 */
export class DeviceState {
  latestFixTime = -Infinity
  /** Where the newest fix put the device: where a driver stood, where a loaded parcel is. */
  latestLat = Number.NaN
  latestLon = Number.NaN
  // a fix is (time, seq): two number rings, compared without building a key per fix
  private readonly fixTimes: Float64Array
  private readonly fixSeqs: Float64Array
  private nextFix = 0
  private readonly scanKeys = new Set<string>()
  private readonly scanOrder: string[] = []
  private nextScan = 0

  constructor (private readonly window: number) {
    this.fixTimes = new Float64Array(window).fill(Number.NaN)
    this.fixSeqs = new Float64Array(window)
  }

  /** True if this fix was seen recently; remembers it otherwise. A missing seq is its own value. */
  seenFix (time: number, seq: number | undefined): boolean {
    const s = seq ?? -1
    for (let i = 0; i < this.window; i++) {
      if (this.fixTimes[i] === time && this.fixSeqs[i] === s) return true
    }
    this.fixTimes[this.nextFix] = time
    this.fixSeqs[this.nextFix] = s
    this.nextFix = (this.nextFix + 1) % this.window
    return false
  }

  /** True if this scan key was seen recently; remembers it otherwise. */
  seenScan (key: string): boolean {
    if (this.scanKeys.has(key)) return true
    const evicted = this.scanOrder[this.nextScan]
    if (evicted !== undefined) this.scanKeys.delete(evicted)
    this.scanOrder[this.nextScan] = key
    this.scanKeys.add(key)
    this.nextScan = (this.nextScan + 1) % this.window
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

  restoreLatest (deviceId: string, time: number, lat: number, lon: number): void {
    const state = this.get(deviceId)
    state.latestFixTime = time
    state.latestLat = lat
    state.latestLon = lon
  }

  /** The device's newest position, if it has one. */
  positionOf (deviceId: string): { lat: number, lon: number, time: number } | undefined {
    const state = this.states.get(deviceId)
    if (state === undefined || Number.isNaN(state.latestLat)) return undefined
    return { lat: state.latestLat, lon: state.latestLon, time: state.latestFixTime }
  }
}
