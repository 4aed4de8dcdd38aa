import { Engine, type EngineOptions } from '../../server/engine/engine.js'
import { Store } from '../../server/engine/store.js'
import type { ParcelRecord } from '../../server/model.js'
import type { GeofenceConfig } from '../../server/tracking/geofence.js'

const HOUR = 3_600_000

/** A real engine on a fresh store, with the server's defaults unless a test says otherwise. */
export function testEngine (options: { geofence?: Partial<GeofenceConfig>, exceptions?: Partial<EngineOptions['exceptions']>, rfidWindowMs?: number } = {}): Engine {
  const store = new Store({
    geofence: { hysteresisM: 30, minDwellMs: 0, maxAccuracyM: 500, ...options.geofence },
    rfidWindowMs: options.rfidWindowMs ?? 2000
  })
  return new Engine(store, {
    exceptions: {
      rules: { stallSlaMs: 24 * HOUR, customsSlaMs: 48 * HOUR, minSamples: 20, stallFactor: 1.5, lostFactor: 4 },
      vehicleSilentMs: HOUR,
      ...options.exceptions
    },
    eta: { pushThresholdMs: 60_000, serviceMs: 120_000 }
  })
}

/** A parcel as the API registers it: info received at `createdAt`, going to Bangkok. */
export function newParcel (id: string, createdAt: number, extra: Partial<ParcelRecord> = {}): ParcelRecord {
  return {
    id,
    trackingNumber: `TS-${id}`,
    epc: null,
    gs1Key: null,
    token: `token-${id}`,
    merchantId: null,
    status: 'info_received',
    statusAt: new Date(createdAt),
    destination: { name: null, address: null, city: 'Bangkok', postcode: null, country: 'TH', lat: null, lon: null },
    codAmount: null,
    codCurrency: null,
    originCountry: 'CN',
    lastMilePartner: null,
    promisedBy: null,
    createdAt: new Date(createdAt),
    endedAt: null,
    track: { recent: [{ code: 'info_received', time: createdAt, stationId: null }] },
    ...extra
  }
}
