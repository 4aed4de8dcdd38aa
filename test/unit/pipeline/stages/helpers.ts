import type { Fix, Scan } from '../../../../proto/types.js'
import type { FixItem, ScanItem } from '../../../../server/pipeline/items.js'

export const T0 = Date.UTC(2026, 10, 23, 3)

/** A fix as it enters the stages: nothing attached yet. */
export function fixItem (fix: Partial<Fix> = {}, sourceId = fix.deviceId ?? 'van-1'): FixItem {
  return { fix: { deviceId: 'van-1', time: T0, lat: 13.75, lon: 100.5, ...fix }, sourceId, receivedAt: T0, vehicleId: null, late: false, effects: null }
}

/** A tag read as it enters the stages: nothing attached yet. */
export function scanItem (scan: Partial<Scan> = {}): ScanItem {
  return {
    scan: { readerId: 'dock-1', epc: 'E28011606000020400001234', antenna: 1, time: T0, ...scan },
    receivedAt: T0, gs1Key: null, stationId: null, parcelId: null, containerId: null, direction: null, milestones: [], custody: []
  }
}
