import { describe, expect, it } from 'vitest'
import { decodeDriverEvents } from '../../../gateway/decoders/driver-event.js'

const context = { deviceId: 'driver-7', topic: 'ts/v1/driver-7/driver', receivedAt: 0 }
const decode = (value: unknown) => decodeDriverEvents(Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)), context)
const T = '2026-11-23T10:15:30.000+07:00'

describe('driver events', () => {
  it('reads a COD delivery with proof, keeping the amount as a decimal string', () => {
    const batch = decode({ type: 'delivered', parcel: 'TS1', time: T, lat: 13.75, lon: 100.5, proof: { kind: 'photo', ref: 's3://pod/1.jpg' }, cod: { amount: 25.5, currency: 'THB' }, recipient: 'Somchai' })
    expect(batch.rejects).toEqual([])
    expect(batch.driverEvents).toEqual([{
      deviceId: 'driver-7', type: 'delivered', parcel: 'TS1', time: Date.parse(T), lat: 13.75, lon: 100.5,
      proof: { kind: 'photo', ref: 's3://pod/1.jpg' }, cod: { amount: '25.5', currency: 'THB' }, recipient: 'Somchai'
    }])
  })

  it('reads arrays and { events } batches', () => {
    const events = [{ type: 'attempt_failed', parcel: 'TS1', time: 1, reason: 'business_closed' }, { type: 'cod_collected', parcel: 'TS2', time: 2, cod: { amount: '10', currency: 'USD' } }]
    expect(decode(events).driverEvents.map((e) => e.type)).toEqual(['attempt_failed', 'cod_collected'])
    expect(decode({ events }).driverEvents).toHaveLength(2)
  })

  it('refuses an attempt without a reason, a payment without cash, an unknown reason, and another device\'s event', () => {
    const batch = decode([
      { type: 'attempt_failed', parcel: 'TS1', time: 1 },
      { type: 'cod_collected', parcel: 'TS1', time: 1 },
      { type: 'attempt_failed', parcel: 'TS1', time: 1, reason: 'dog' },
      { type: 'delivered', parcel: 'TS1', time: 1, deviceId: 'driver-8' },
      { type: 'delivered', parcel: 'TS1', time: 1, cod: { amount: '1e3', currency: 'THB' } }
    ])
    expect(batch.driverEvents).toEqual([])
    expect(batch.rejects.map((r) => r.reason)).toEqual(['invalid_driver_event', 'invalid_driver_event', 'invalid_driver_event', 'device_mismatch', 'invalid_driver_event'])
    expect(batch.rejects[0]?.detail).toMatch(/reason/)
    expect(batch.rejects[2]?.detail).toMatch(/recipient_not_available/)
  })

  it('refuses malformed JSON and an empty batch', () => {
    expect(decode('{').rejects.map((r) => r.reason)).toEqual(['malformed_json'])
    expect(decode([]).rejects.map((r) => r.reason)).toEqual(['empty_batch'])
  })
})
