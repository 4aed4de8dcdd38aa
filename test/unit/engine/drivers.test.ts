import { beforeEach, describe, expect, it } from 'vitest'
import type { Engine } from '../../../server/engine/engine.js'
import { parcelRef, vehicleRef } from '../../../server/tracking/custody.js'
import { newParcel, testEngine } from '../../support/engine.js'

const T0 = Date.UTC(2026, 10, 23, 3)

describe('engine commands: a driver event', () => {
  let engine: Engine

  beforeEach(() => {
    engine = testEngine()
    engine.putVehicle({ id: 'V1', name: 'Van 1', plate: null, deviceId: 'van-1', driver: null, createdAt: new Date(T0) })
    engine.admit(newParcel('p1', T0, { codAmount: '450.00', codCurrency: 'THB' }))
    engine.move(parcelRef('p1'), vehicleRef('V1'), { time: T0, source: 'api', deviceId: null, stationId: null })
    engine.isLate({ deviceId: 'driver-1', time: T0, lat: 13.76, lon: 100.5 })
  })

  it('refuses an event for a parcel it does not know, and cash in another currency', () => {
    expect(engine.driverEffects({ deviceId: 'driver-1', type: 'attempt_failed', parcel: 'TS-none', time: T0, reason: 'recipient_not_available' })).toMatchObject({ reason: 'unknown_parcel' })
    expect(engine.driverEffects({ deviceId: 'driver-1', type: 'cod_collected', parcel: 'TS-p1', time: T0, cod: { amount: '450.00', currency: 'USD' } })).toMatchObject({ reason: 'cod_mismatch' })
  })

  it('records a failed attempt with its reason, placed where the driver stood, on the parcel\'s vehicle', () => {
    const effects = engine.driverEffects({ deviceId: 'driver-1', type: 'attempt_failed', parcel: 'TS-p1', time: T0 + 1000, reason: 'recipient_not_available' })
    expect(effects).toEqual({
      milestones: [expect.objectContaining({ parcelId: 'p1', code: 'delivery_attempted', source: 'driver', vehicleId: 'V1', lat: 13.76, lon: 100.5, detail: { reason: 'recipient_not_available' } })],
      custody: []
    })
  })

  it('takes a delivered parcel off the vehicle with no "unloaded", and then still hears the cash collected', () => {
    const delivered = engine.driverEffects({ deviceId: 'driver-1', type: 'delivered', parcel: 'p1', time: T0 + 1000, lat: 13.75, lon: 100.49, recipient: 'Somchai' })
    expect(delivered).toEqual({
      milestones: [expect.objectContaining({ code: 'delivered', lat: 13.75, lon: 100.49, detail: { recipient: 'Somchai' } })],
      custody: [{ item: 'parcel:p1', carrier: null, since: T0 + 1000 }]
    })
    expect(engine.store.parcelsAboard('V1')).toEqual([])
    const cash = engine.driverEffects({ deviceId: 'driver-1', type: 'cod_collected', parcel: 'TS-p1', time: T0 + 2000, cod: { amount: '450.00', currency: 'THB' } })
    expect(cash).toMatchObject({ milestones: [expect.objectContaining({ code: 'cod_collected', detail: { cod: { amount: '450.00', currency: 'THB' } } })] })
  })

  it('counts the same event (type, parcel, time) once', () => {
    const event = { deviceId: 'driver-1', type: 'delivered' as const, parcel: 'TS-p1', time: T0 + 1000 }
    expect(engine.seenDriverEvent(event)).toBe(false)
    expect(engine.seenDriverEvent(event)).toBe(true)
  })
})
