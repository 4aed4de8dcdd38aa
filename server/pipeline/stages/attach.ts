import { rejection } from '../../../gateway/rejects.js'
import type { Registry } from '../../state/registry.js'
import type { FixItem, ScanItem, Stage } from '../items.js'

export function attachVehicle (registry: Registry): Stage<FixItem> {
  return {
    name: 'attach-vehicle',
    run: (item) => {
      item.vehicleId = registry.vehicleOfDevice(item.fix.deviceId)?.id ?? null
      return undefined
    }
  }
}

/**
 * A network server (or an OsmAnd phone) speaks for a tracker it names. That tracker must be
 * registered, enabled, and belong to the same owner: no tenant can write another's positions.
 */
export function checkAttribution (registry: Registry): Stage<FixItem> {
  return {
    name: 'check-attribution',
    run: ({ fix, sourceId }) => {
      if (fix.deviceId === sourceId) return undefined
      const tracker = registry.devices.get(fix.deviceId)
      const source = registry.devices.get(sourceId)
      if (tracker === undefined || tracker.disabled || tracker.kind !== 'tracker' || tracker.owner !== source?.owner) {
        return rejection('unknown_device', `${sourceId} reported for "${fix.deviceId}", which is not an enabled tracker of the same owner`)
      }
      return undefined
    }
  }
}

/** Scans from readers not yet placed at a station, or of unknown tags, are stored all the same. */
export function attachStationAndParcel (registry: Registry, gs1KeyOf: (epc: string) => string | null): Stage<ScanItem> {
  return {
    name: 'attach-station-parcel',
    run: (item) => {
      item.gs1Key = gs1KeyOf(item.scan.epc)
      item.stationId = registry.meaningOf(item.scan.readerId, item.scan.antenna)?.stationId ?? null
      item.parcelId = registry.parcelByTag(item.scan.epc, item.gs1Key)?.id ?? null
      if (item.parcelId === null) item.containerId = registry.containerOfTag(item.scan.epc, item.gs1Key)?.id ?? null
      return undefined
    }
  }
}
