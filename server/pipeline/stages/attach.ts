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

/** Scans from readers not yet placed at a station, or of unknown tags, are stored all the same. */
export function attachStationAndParcel (registry: Registry): Stage<ScanItem> {
  return {
    name: 'attach-station-parcel',
    run: (item) => {
      item.stationId = registry.readers.get(item.scan.readerId)?.stationId ?? null
      item.parcelId = registry.parcelByTag(item.scan.epc)?.id ?? null
      return undefined
    }
  }
}
