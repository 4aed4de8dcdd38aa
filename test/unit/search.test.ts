import { describe, expect, it } from 'vitest'
import { closeness, PrefixIndex, search, type Subject } from '../../server/tracking/search.js'

const parcel = (trackingNumber: string, epc: string | null = null): Subject =>
  ({ kind: 'parcel', record: { id: `id-${trackingNumber}`, trackingNumber, epc, status: 'info_received' } })
const vehicle = (id: string, name: string, plate: string | null, deviceId: string | null = null): Subject =>
  ({ kind: 'vehicle', record: { id, name, plate, deviceId } })
const device = (id: string, name: string | null = null): Subject => ({ kind: 'device', record: { id, name, kind: 'tracker' } })
const container = (id: string, epc: string | null = null): Subject => ({ kind: 'container', record: { id, kind: 'tote', name: null, epc } })

const labels = (subjects: Subject[], query: string, limit = 20): string[] => search(subjects, query, limit).map((m) => `${m.kind}:${m.label}`)

describe('ops search: matching tracking numbers, EPCs, vehicles and devices', () => {
  it('scores an exact key 0 and a prefix by its shortest matching key, ignoring case, and nothing else', () => {
    expect(closeness(['TS-100', null], 'ts-100')).toBe(0)
    expect(closeness(['TS-1000'], 'ts-100')).toBe(7)
    expect(closeness(['TS-10000', 'ts-1000'], 'ts-100')).toBe(7)
    expect(closeness(['TS-1000', 'ts-100'], 'ts-100')).toBe(0)
    // a substring is not a prefix
    expect(closeness(['XTS-100'], 'ts-100')).toBeUndefined()
    expect(closeness(['TS'], 'ts-100')).toBeUndefined()
    expect(closeness([null], 'ts')).toBeUndefined()
    // beyond ASCII too
    expect(closeness(['ÄRZTE-VAN'], 'ärzte')).toBe(9)
    expect(closeness(['Ärzte'], 'ärzte')).toBe(0)
  })

  it('finds a parcel by tracking number and by its EPC in any case', () => {
    const all = [parcel('TS-1', '3034257BF7194E4000001A85'), parcel('TS-2', 'E28011606000020400001234')]
    expect(labels(all, 'TS-2')).toEqual(['parcel:TS-2'])
    expect(labels(all, '3034257bf7194e4000001a85')).toEqual(['parcel:TS-1'])
    expect(labels(all, '  e2801160  ')).toEqual(['parcel:TS-2'])
    expect(search(all, 'ts-1', 5)[0]).toMatchObject({ kind: 'parcel', id: 'id-TS-1', label: 'TS-1', detail: 'parcel · info received · EPC 3034257BF7194E4000001A85', rank: 0 })
  })

  it('finds a vehicle by id, name or plate, a device by id or name, and a container by id or EPC', () => {
    const all = [vehicle('V1', 'Van one', '1กข 1234', 'van-1'), device('van-1', 'Teltonika FMB'), container('TOTE-7', 'E200AA')]
    expect(labels(all, '1กข')).toEqual(['vehicle:Van one (1กข 1234)'])
    expect(labels(all, 'van one')).toEqual(['vehicle:Van one (1กข 1234)'])
    // the vehicle's tracker is a key of the device, not of the vehicle
    expect(labels(all, 'van-1')).toEqual(['device:van-1'])
    expect(labels(all, 'teltonika')).toEqual(['device:van-1'])
    expect(labels(all, 'e200aa')).toEqual(['container:TOTE-7'])
    expect(search(all, 'v1', 5)[0]).toMatchObject({ kind: 'vehicle', id: 'V1', detail: 'vehicle V1 · tracker van-1' })
  })

  it('puts exact matches before prefix matches, then parcels, vehicles, containers, devices, then the closest completion', () => {
    const all = [device('TS-10X'), parcel('TS-100'), parcel('TS-10'), parcel('TS-9'), vehicle('TS-1', 'Truck', null), parcel('TS-1'), container('TS-11')]
    expect(labels(all, 'ts-1')).toEqual(['parcel:TS-1', 'vehicle:Truck', 'parcel:TS-10', 'parcel:TS-100', 'container:TS-11', 'device:TS-10X'])
    expect(labels([parcel('TS-10'), parcel('TS-9')], 'ts-')).toEqual(['parcel:TS-9', 'parcel:TS-10'])
    // the plate in a vehicle's label does not make it a worse match for its name
    expect(labels([vehicle('V2', 'Van 2', null), vehicle('V1', 'Van 1', 'BKK-4711')], 'van')).toEqual(['vehicle:Van 1 (BKK-4711)', 'vehicle:Van 2'])
  })

  it('keeps only the best `limit`, whatever order the registry yields them in', () => {
    const numbers = Array.from({ length: 500 }, (_, i) => parcel(`P-${i}`))
    const shuffled = [...numbers].sort(() => Math.random() - 0.5)
    expect(labels(shuffled, 'p-', 3)).toEqual(['parcel:P-0', 'parcel:P-1', 'parcel:P-2'])
    expect(labels(shuffled, 'P-49')).toEqual(['parcel:P-49', ...Array.from({ length: 10 }, (_, i) => `parcel:P-49${i}`)])
    expect(labels([...shuffled, parcel('p-')], 'p-', 2)).toEqual(['parcel:p-', 'parcel:P-0'])
  })

  it('returns nothing for a blank query or a zero limit', () => {
    expect(search([parcel('TS-1')], '   ', 10)).toEqual([])
    expect(search([parcel('TS-1')], 'TS', 0)).toEqual([])
  })
})

describe('PrefixIndex: the candidates of a query among many subjects', () => {
  it('finds exactly the subjects whose key the query starts, in any case, each once, and ranks them as search does', () => {
    const all = [vehicle('V1', 'Van one', 'BKK-4711', 'van-1'), vehicle('V2', 'Van two', null), device('van-1', 'Teltonika'), container('TOTE-7', 'E200AA'), vehicle('VX', 'Ärzte-Van', null)]
    const index = new PrefixIndex(all)
    const ids = (q: string): string[] => index.candidates(q).map((s) => `${s.kind}:${s.record.id}`).sort()
    expect(ids('van')).toEqual(['device:van-1', 'vehicle:V1', 'vehicle:V2'])
    expect(ids('v')).toEqual(['device:van-1', 'vehicle:V1', 'vehicle:V2', 'vehicle:VX'])
    expect(ids('bkk')).toEqual(['vehicle:V1'])
    expect(ids('e200aa')).toEqual(['container:TOTE-7'])
    expect(ids('ärz')).toEqual(['vehicle:VX'])
    expect(ids('zzz')).toEqual([])
    for (const q of ['van', 'v', 'bkk', 'tote', 'teltonika']) expect(labels(index.candidates(q), q)).toEqual(labels(all, q))
  })
})
