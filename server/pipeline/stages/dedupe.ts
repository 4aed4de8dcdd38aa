import type { Engine } from '../../engine/engine.js'
import { DUPLICATE, type FixItem, type ScanItem, type Stage } from '../items.js'

/**
 * A fix is identified by (device, time, seq): a QoS1 redelivery or an application-level resend
 * repeats all three. Keying on seq alone would drop real fixes after a device reboot resets it.
 */
export function dedupeFixes (engine: Engine): Stage<FixItem> {
  return {
    name: 'dedupe-fixes',
    run: ({ fix }) => engine.seenFix(fix) ? DUPLICATE : undefined
  }
}

/** Identical reads of a tag by the same antenna at the same instant are one read. */
export function dedupeScans (engine: Engine): Stage<ScanItem> {
  return {
    name: 'dedupe-scans',
    run: ({ scan }) => engine.seenScan(scan) ? DUPLICATE : undefined
  }
}
