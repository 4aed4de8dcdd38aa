import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../support/database.js'
import { startTestServer, type TestServer } from '../support/server.js'

interface Parcel { id: string, trackingUrl: string, status: string }
interface Tracking { status: { code: string } | null, eta: unknown, milestones: Array<{ code: string }> }

const TAG = '3034257BF7194E4000001A85'

/**
 * Delivered parcels are history: after a restart the engine holds only the parcels on their way,
 * and everything about the others is read from the database when someone asks.
 */
describe('parcels whose journey ended, after a restart', () => {
  let db: TestDatabase
  let server: TestServer
  let driverSecret: string
  const parcels: Record<string, Parcel> = {}
  let start = 0

  const metric = async (name: string): Promise<string[]> =>
    (await (await fetch(`${server.httpUrl}/metrics`)).text()).split('\n').filter((line) => line.startsWith(name))
  const driverPost = async (body: unknown): Promise<{ status: number, body: { rejects: Array<{ reason: string }> } }> => {
    const response = await fetch(`${server.httpUrl}/api/driver/events`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`driver-1:${driverSecret}`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify(body)
    })
    return { status: response.status, body: await response.json() as { rejects: Array<{ reason: string }> } }
  }
  const tracking = async (parcel: Parcel | undefined): Promise<{ status: number, body: Tracking }> => {
    const response = await fetch(`${server.httpUrl}/api/track/${new URL(parcel?.trackingUrl ?? 'http://x/t/AAAAAAAAAAAAAAAAAAAAAA').pathname.split('/').pop() ?? ''}`)
    return { status: response.status, body: await response.json() as Tracking }
  }

  beforeAll(async () => {
    db = await createTestDatabase()
    server = await startTestServer({ db })
    driverSecret = (await server.registerDevice('driver-1')).secret
    for (const [number, extra] of [['TS-HIST-1', { epc: TAG, cashOnDelivery: { amount: 450, currency: 'THB' } }], ['TS-HIST-2', {}]] as const) {
      const created = await server.api<Parcel>('POST', '/api/parcels', { trackingNumber: number, destination: { city: 'Bangkok', country: 'TH' }, ...extra })
      expect(created.status).toBe(201)
      parcels[number] = created.body
    }
    start = Date.now() + 1000
    expect((await driverPost({ type: 'delivered', parcel: 'TS-HIST-1', time: start })).body.rejects).toEqual([])
    await server.close()
    server = await startTestServer({ db })
  })

  afterAll(async () => {
    await server?.close()
    await db?.drop()
  })

  it('holds only the parcel still on its way', async () => {
    expect(await metric('trackstream_engine_parcels{')).toEqual(['trackstream_engine_parcels{set="on_their_way"} 1', 'trackstream_engine_parcels{set="recently_ended"} 0'])
  })

  it('finds the delivered parcel by tracking number and by EPC, and shows its record and timeline', async () => {
    const found = await server.api<{ items: Array<{ kind: string, label: string, detail: string }> }>('GET', '/api/search?q=ts-hist')
    expect(found.body.items.map((item) => item.label)).toEqual(['TS-HIST-1', 'TS-HIST-2'])
    expect(found.body.items[0]?.detail).toContain('delivered')
    expect((await server.api<{ items: Array<{ label: string }> }>('GET', `/api/search?q=${TAG.slice(0, 10).toLowerCase()}`)).body.items.map((i) => i.label)).toEqual(['TS-HIST-1'])
    const record = await server.api<Parcel>('GET', '/api/parcels/TS-HIST-1')
    expect(record.body.status).toBe('delivered')
    const timeline = await server.api<{ items: Array<{ code: string }> }>('GET', `/api/parcels/${parcels['TS-HIST-1']?.id ?? ''}/timeline`)
    expect(timeline.body.items.map((entry) => entry.code)).toEqual(['info_received', 'delivered'])
  })

  it('opens the buyer\'s link of the delivered parcel, with no ETA, as it did before the restart', async () => {
    const delivered = await tracking(parcels['TS-HIST-1'])
    expect(delivered.status).toBe(200)
    expect(delivered.body).toMatchObject({ status: { code: 'delivered' }, eta: null })
    expect((await tracking(parcels['TS-HIST-2'])).body.status?.code).toBe('info_received')
    expect((await tracking(undefined)).status).toBe(404)
  })

  it('hears a late word about it: the driver\'s cash collected, and a note from ops', async () => {
    const cash = await driverPost({ type: 'cod_collected', parcel: 'TS-HIST-1', time: start + 1000, cod: { amount: '450.00', currency: 'THB' } })
    expect(cash.body.rejects).toEqual([])
    expect((await driverPost({ type: 'cod_collected', parcel: 'TS-HIST-1', time: start + 2000, cod: { amount: '450.00', currency: 'USD' } })).body.rejects.map((r) => r.reason)).toEqual(['cod_mismatch'])
    const note = await server.api('POST', '/api/parcels/TS-HIST-1/milestones', { code: 'damaged', time: new Date(start + 3000).toISOString(), note: 'the buyer reports a dented box' })
    expect(note.status).toBe(201)
    const timeline = await server.api<{ items: Array<{ code: string }> }>('GET', '/api/parcels/TS-HIST-1/timeline')
    expect(timeline.body.items.map((entry) => entry.code)).toEqual(['info_received', 'delivered', 'cod_collected', 'damaged'])
    // read back for that, it stays history: not on its way again
    expect(await metric('trackstream_engine_parcels{set="on_their_way"}')).toEqual(['trackstream_engine_parcels{set="on_their_way"} 1'])
  })
})
