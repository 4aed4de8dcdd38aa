import { describe, expect, it } from 'vitest'
import { gs1KeyOf } from '../../../../gateway/epc.js'
import { attachStationAndParcel, attachVehicle, checkAttribution } from '../../../../server/pipeline/stages/attach.js'
import type { DeviceRecord } from '../../../../server/model.js'
import { newParcel, testEngine } from '../../../support/engine.js'
import { fixItem, scanItem, T0 } from './helpers.js'

const device = (id: string, owner: string, extra: Partial<DeviceRecord> = {}): DeviceRecord =>
  ({ id, kind: 'tracker', format: 'ttn', owner, scope: null, name: null, secretHash: '', disabled: false, createdAt: new Date(T0), ...extra })

describe('stages: attach', () => {
  it('attaches the vehicle the tracker is fitted to, or none', () => {
    const engine = testEngine()
    engine.putVehicle({ id: 'V1', name: 'Van 1', plate: null, deviceId: 'van-1', driver: null, createdAt: new Date(T0) })
    const stage = attachVehicle(engine)
    const fitted = fixItem()
    const loose = fixItem({ deviceId: 'van-9' })
    stage.run(fitted)
    stage.run(loose)
    expect([fitted.vehicleId, loose.vehicleId]).toEqual(['V1', null])
  })

  it('lets a network server speak only for an enabled tracker of its own owner', () => {
    const engine = testEngine()
    engine.putDevice(device('tts', 'acme', { kind: 'network_server' }))
    engine.putDevice(device('acme-1', 'acme'))
    engine.putDevice(device('other-1', 'other'))
    engine.putDevice(device('acme-off', 'acme', { disabled: true }))
    const stage = checkAttribution(engine)
    expect(stage.run(fixItem({ deviceId: 'acme-1' }, 'tts'))).toBeUndefined()
    for (const id of ['other-1', 'acme-off', 'nobody']) expect(stage.run(fixItem({ deviceId: id }, 'tts'))).toMatchObject({ reason: 'unknown_device' })
    // a device speaking for itself needs no registry entry here: the broker authenticated it
    expect(stage.run(fixItem({ deviceId: 'van-1' }, 'van-1'))).toBeUndefined()
  })

  it('attaches the station, the GS1 key and the parcel a tag is; by its SSCC when the EPC is another encoding of it', () => {
    const engine = testEngine()
    engine.putStation({ id: 'BKK', name: 'Bangkok hub', kind: 'hub', lat: 13.7, lon: 100.6, city: null, country: null, timezone: null, createdAt: new Date(T0) })
    engine.putReader({ deviceId: 'dock-1', stationId: 'BKK', milestone: 'arrived_at_facility', name: null, antennas: [], vehicleId: null, mounted: false, createdAt: new Date(T0) })
    const sscc96 = '3114257BF4000000000004D2'
    const key = gs1KeyOf(sscc96)
    expect(key).toMatch(/^sscc:/)
    engine.admit(newParcel('p1', T0, { gs1Key: key }))
    const item = scanItem({ epc: sscc96 })
    expect(attachStationAndParcel(engine, gs1KeyOf).run(item)).toBeUndefined()
    expect(item).toMatchObject({ gs1Key: key, stationId: 'BKK', parcelId: 'p1', containerId: null })
  })
})
