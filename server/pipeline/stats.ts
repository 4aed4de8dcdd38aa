import { Counter, type Registry as MetricsRegistry } from 'prom-client'
import type { RejectReason } from '../../gateway/rejects.js'
import type { DeviceCounters } from '../model.js'

export interface UnknownDevice {
  deviceId: string
  attempts: number
  lastAttemptAt: number
  lastAddress: string | null
}

const UNKNOWN_DEVICES_KEPT = 200

/**
 * Counts what came in and what was refused, in total (as Prometheus metrics) and per device (for
 * the API), so "why does my tracker show nothing?" has an answer without reading logs.
 * Per-device counters are saved every few seconds and restored at start (plugins/device-stats.ts).
 */
export class IngestStats {
  private readonly perDevice = new Map<string, DeviceCounters>()
  /** Devices whose counters changed since the last save. */
  private readonly dirty = new Set<string>()
  private readonly unknown = new Map<string, UnknownDevice>()
  private readonly messages: Counter
  private readonly accepted: Counter<'kind'>
  private readonly duplicatesTotal: Counter
  private readonly rejectsTotal: Counter<'reason'>

  constructor (metrics: MetricsRegistry) {
    this.messages = new Counter({ name: 'trackstream_messages_total', help: 'Device messages received', registers: [metrics] })
    this.accepted = new Counter({ name: 'trackstream_accepted_total', help: 'Fixes, scans and device events accepted for storage', labelNames: ['kind'], registers: [metrics] })
    this.duplicatesTotal = new Counter({ name: 'trackstream_duplicates_total', help: 'Fixes and scans dropped as redeliveries', registers: [metrics] })
    this.rejectsTotal = new Counter({ name: 'trackstream_rejects_total', help: 'Connections, messages and values refused, by reason', labelNames: ['reason'], registers: [metrics] })
  }

  message (deviceId: string, at: number): void {
    const counters = this.counters(deviceId)
    counters.messages++
    counters.lastSeenAt = at
    this.messages.inc()
  }

  /** Items accepted for a device: a LoRaWAN tracker is "seen" when its network server reports for it. */
  acceptedItems (deviceId: string, kind: 'fix' | 'scan' | 'event', count: number, at: number): void {
    const counters = this.counters(deviceId)
    if (kind === 'fix') counters.fixes += count
    else if (kind === 'scan') counters.scans += count
    else counters.events += count
    counters.lastSeenAt = Math.max(counters.lastSeenAt ?? at, at)
    this.accepted.inc({ kind }, count)
  }

  duplicates (deviceId: string, count: number): void {
    if (count === 0) return
    this.counters(deviceId).duplicates += count
    this.duplicatesTotal.inc(count)
  }

  /** deviceId is null when the refusal cannot be pinned on a registered device. */
  rejected (deviceId: string | null, reason: RejectReason): void {
    this.rejectsTotal.inc({ reason })
    if (deviceId === null) return
    const rejects = this.counters(deviceId).rejects
    rejects[reason] = (rejects[reason] ?? 0) + 1
  }

  unknownDevice (deviceId: string, address: string | null, at: number): void {
    this.rejectsTotal.inc({ reason: 'unknown_device' })
    const seen = this.unknown.get(deviceId)
    this.unknown.delete(deviceId)
    this.unknown.set(deviceId, { deviceId, attempts: (seen?.attempts ?? 0) + 1, lastAttemptAt: at, lastAddress: address })
    if (this.unknown.size > UNKNOWN_DEVICES_KEPT) {
      const oldest = this.unknown.keys().next().value
      if (oldest !== undefined) this.unknown.delete(oldest)
    }
  }

  device (deviceId: string): DeviceCounters | undefined {
    return this.perDevice.get(deviceId)
  }

  /** The counters changed since the last call, for saving. */
  takeDirty (): Array<[string, DeviceCounters]> {
    const changed: Array<[string, DeviceCounters]> = []
    for (const deviceId of this.dirty) {
      const counters = this.perDevice.get(deviceId)
      if (counters !== undefined) changed.push([deviceId, { ...counters, rejects: { ...counters.rejects } }])
    }
    this.dirty.clear()
    return changed
  }

  /** Saves failed: keep these for the next attempt. */
  markDirty (deviceId: string): void {
    this.dirty.add(deviceId)
  }

  /** Counters saved by an earlier run. */
  restore (deviceId: string, counters: DeviceCounters): void {
    this.perDevice.set(deviceId, counters)
  }

  /** Most recent first. */
  unknownDevices (): UnknownDevice[] {
    return [...this.unknown.values()].reverse()
  }

  forgetUnknown (deviceId: string): void {
    this.unknown.delete(deviceId)
  }

  private counters (deviceId: string): DeviceCounters {
    this.dirty.add(deviceId)
    let counters = this.perDevice.get(deviceId)
    if (counters === undefined) {
      counters = { lastSeenAt: null, messages: 0, fixes: 0, scans: 0, events: 0, duplicates: 0, rejects: {} }
      this.perDevice.set(deviceId, counters)
    }
    return counters
  }
}
