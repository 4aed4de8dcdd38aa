import type { DeviceStateStore } from '../../state/device-state.js'
import { DUPLICATE, type FixItem, type ScanItem, type Stage } from '../items.js'

/**
 * A fix is identified by (device, time, seq): a QoS1 redelivery or an application-level resend
 * repeats all three. Keying on seq alone would drop real fixes after a device reboot resets it.
 */
export function dedupeFixes (store: DeviceStateStore): Stage<FixItem> {
  return {
    name: 'dedupe-fixes',
    run: ({ fix }) => store.get(fix.deviceId).seenFix(fix.time, fix.seq) ? DUPLICATE : undefined
  }
}

/** Identical reads of a tag by the same antenna at the same instant are one read. */
export function dedupeScans (store: DeviceStateStore): Stage<ScanItem> {
  return {
    name: 'dedupe-scans',
    run: ({ scan }) => store.get(scan.readerId).seenScan(`${scan.time}:${scan.antenna}:${scan.epc}`) ? DUPLICATE : undefined
  }
}
