import { rejection } from '../../../gateway/rejects.js'
import type { Engine } from '../../engine/engine.js'
import type { FixItem, ScanItem, Stage } from '../items.js'

export function attachVehicle (engine: Engine): Stage<FixItem> {
  return {
    name: 'attach-vehicle',
    run: (item) => {
      item.vehicleId = engine.vehicleOfDevice(item.fix.deviceId)
      return undefined
    }
  }
}

/**
 * A network server (or an OsmAnd phone) speaks for a tracker it names. That tracker must be
 * registered, enabled, and belong to the same owner: no tenant can write another's positions.
 */
export function checkAttribution (engine: Engine): Stage<FixItem> {
  const { config } = engine.store
  return {
    name: 'check-attribution',
    run: ({ fix, sourceId }) => {
      if (fix.deviceId === sourceId) return undefined
      const tracker = config.device(fix.deviceId)
      const source = config.device(sourceId)
      if (tracker === undefined || tracker.disabled || tracker.kind !== 'tracker' || tracker.owner !== source?.owner) {
        return rejection('unknown_device', `${sourceId} reported for "${fix.deviceId}", which is not an enabled tracker of the same owner`)
      }
      return undefined
    }
  }
}

/** Scans from readers not yet placed at a station, or of unknown tags, are stored all the same. */
export function attachStationAndParcel (engine: Engine, gs1KeyOf: (epc: string) => string | null): Stage<ScanItem> {
  return {
    name: 'attach-station-parcel',
    run: (item) => {
      const identity = engine.identify(item.scan, gs1KeyOf(item.scan.epc))
      item.gs1Key = identity.gs1Key
      item.stationId = identity.stationId
      item.parcelId = identity.parcelId
      item.containerId = identity.containerId
      return undefined
    }
  }
}
