import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Kpi } from '../../dashboard/src/kpi-panel.js'
import { startTestServer, type TestServer } from '../support/server.js'


const HOUR = 3_600_000

describe('KPIs per partner, lane, station and day', () => {
  let server: TestServer
  const now = Date.now()
  const at = (hours: number): string => new Date(now + hours * HOUR).toISOString()

  const parcel = async (trackingNumber: string, extra: Record<string, unknown>): Promise<void> => {
    const created = await server.api('POST', '/api/parcels', { trackingNumber, originCountry: 'CN', destination: { city: 'Bangkok', country: 'TH' }, ...extra })
    expect(created.status).toBe(201)
  }
  const milestone = async (trackingNumber: string, code: string, hours: number, extra: Record<string, unknown> = {}): Promise<void> => {
    expect((await server.api('POST', `/api/parcels/${trackingNumber}/milestones`, { code, time: at(hours), ...extra })).status).toBe(201)
  }
  const kpis = async (by: string): Promise<Kpi[]> => {
    await server.app.refreshKpis()
    return (await server.api<{ items: Kpi[] }>('GET', `/api/kpis?by=${by}&to=${at(24).slice(0, 10)}`)).body.items
  }

  beforeAll(async () => {
    server = await startTestServer()
    expect((await server.api('POST', '/api/stations', { id: 'BKK-DEPOT', name: 'Depot', kind: 'depot', lat: 13.7, lon: 100.6 })).status).toBe(201)
    await parcel('P-ONTIME', { lastMilePartner: 'FastMile', promisedBy: at(48), cashOnDelivery: { amount: 100, currency: 'THB' } })
    await parcel('P-LATE', { lastMilePartner: 'FastMile', promisedBy: at(1), cashOnDelivery: { amount: 50, currency: 'THB' } })
    await parcel('P-LOST', { lastMilePartner: 'FastMile' })
    await parcel('P-RETURNED', { lastMilePartner: 'SlowPost' })
    await parcel('P-DAMAGED', { lastMilePartner: 'SlowPost', originCountry: 'VN' })
    await parcel('P-TRANSIT', { lastMilePartner: 'SlowPost' })

    await milestone('P-ONTIME', 'out_for_delivery', 1, { stationId: 'BKK-DEPOT' })
    await milestone('P-ONTIME', 'delivered', 2, { cod: { amount: '100.00', currency: 'THB' } })
    await milestone('P-LATE', 'delivery_attempted', 2, { reason: 'recipient_not_available' })
    await milestone('P-LATE', 'delivered', 3, { cod: { amount: '40.00', currency: 'THB' } })
    await milestone('P-LOST', 'suspected_lost', 2)
    await milestone('P-RETURNED', 'returned_to_sender', 2)
    await milestone('P-DAMAGED', 'damaged', 1)
    await milestone('P-DAMAGED', 'delivered', 2)
    await milestone('P-TRANSIT', 'arrived_at_facility', 1, { stationId: 'BKK-DEPOT' })
  })

  afterAll(async () => { await server?.close() })

  it('computes each rate per last-mile partner from the parcels with an outcome', async () => {
    expect(await kpis('partner')).toEqual([
      {
        key: 'FastMile', parcels: 3, delivered: 2,
        onTimeRate: 0.5, deliverySuccessRate: 0.6667, firstAttemptRate: 0.5, exceptionRate: 0.3333, lossDamageRate: 0.3333,
        cod: [{ currency: 'THB', expected: '150.00', collected: '140.00', ratio: 0.9333 }]
      },
      {
        key: 'SlowPost', parcels: 2, delivered: 1,
        onTimeRate: null, deliverySuccessRate: 0.5, firstAttemptRate: 1, exceptionRate: 1, lossDamageRate: 0.5, cod: []
      }
    ])
  })

  it('groups by lane and by station too', async () => {
    expect((await kpis('lane')).map((k) => [k.key, k.parcels])).toEqual([['CN>TH', 4], ['VN>TH', 1]])
    expect((await kpis('station')).map((k) => [k.key, k.parcels])).toEqual([['(none)', 4], ['BKK-DEPOT', 1]])
  })

  it('counts a parcel once: a lost parcel that turns up and is delivered moves to delivered', async () => {
    await milestone('P-LOST', 'delivered', 4)
    const [fast] = await kpis('partner')
    expect(fast).toMatchObject({ key: 'FastMile', parcels: 3, delivered: 3, deliverySuccessRate: 1 })
  })

  it('refuses a range that runs backwards', async () => {
    const { status } = await server.api('GET', '/api/kpis?from=2026-11-20&to=2026-11-01')
    expect(status).toBe(422)
  })
})
