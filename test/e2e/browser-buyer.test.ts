import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import type { MqttClient } from 'mqtt'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceTopic } from '../../proto/topics.js'
import { ARTIFACTS, browserUnavailable, launchBrowser, openPage, type OpenedPage } from '../support/browser.js'
import { connectDevice, eventually, FrameCollector, publish } from '../support/clients.js'
import { startTestServer, type TestServer } from '../support/server.js'

const unavailable = browserUnavailable()
// CI installs Chromium, so there a missing browser is a failure, not a skip
if (unavailable !== undefined && process.env.CI !== undefined) throw new Error(unavailable)
if (unavailable !== undefined) console.warn(`browser tests skipped: ${unavailable}`)

interface Point { lat: number, lon: number }
interface Van extends Point { precise: boolean, time: string }
interface Tracking { status: { code: string } | null, destinationPoint: Point | null, deliveredAt: Point | null, van: Van | null }
interface Frame { type: string, van?: Van | null, deliveredAt?: Point, destinationPoint?: Point | null, tracking?: Tracking, milestones?: Array<{ code: string }> }

// Bangkok; 0.01° of latitude is about 1.1 km. Buyer A's and buyer B's doors are 4.6 km apart.
const HOME_A = { lat: 13.7563, lon: 100.5018 }
const HOME_B = { lat: 13.7246, lon: 100.529 }
const DEPOT = { lat: 13.6952, lon: 100.6043 }
/** 9.5 km from A, and a second fix 300 m on, in the same 0.02° cell (13.80–13.82, 100.56–100.58). */
const FAR = { lat: 13.8123, lon: 100.5678 }
const FAR_SAME_CELL = { lat: 13.815, lon: 100.565 }
/** 590 m and 240 m from A's door. */
const NEAR = { lat: 13.752, lon: 100.505 }
const NEARER = { lat: 13.7545, lon: 100.5031 }
const DOORSTEP = { lat: 13.7561, lon: 100.5019 }
const SECRETS = { vehicle: 'VAN-SECRET-7', plate: 'PLATE-9X', device: 'tracker-zz', otherParcel: 'TS-MAP-B' }
const ENV = { ETA_SWEEP_MS: '3600000', EXCEPTION_SWEEP_MS: '3600000' }
const PUBLIC_KEYS = ['cashOnDelivery', 'deliveredAt', 'destination', 'destinationPoint', 'eta', 'milestones', 'status', 'trackingNumber', 'van']

type Layer = 'van' | 'van-area' | 'destination' | 'delivered-at'

describe.skipIf(unavailable !== undefined)('the buyer\'s live map in a real browser', () => {
  let server: TestServer
  let browser: BrowserContext
  let van: MqttClient
  let driver: MqttClient
  let driverSecret = ''
  const tokens: Record<string, string> = {}
  /** Every frame buyer A's own raw sockets received, over the whole journey. */
  const sockets: Array<FrameCollector<Frame>> = []
  let page: Page
  let errors: string[] = []
  const scripts: string[] = []
  // every event 5 s after the one before, from when the parcels were registered: a minute or two ahead at most
  let clock = 0
  const STEP = 5000
  const tick = (): number => (clock += STEP)

  const fix = async (at: Point): Promise<void> => {
    await publish(van, deviceTopic(SECRETS.device, 'fix'), JSON.stringify({ time: tick(), ...at }))
  }
  const framesOfA = (): Frame[] => sockets.flatMap((socket) => socket.frames)
  const vanFrames = (): Frame[] => framesOfA().filter((f) => f.type === 'van')
  const trackingOf = async (number: string): Promise<Record<string, unknown> & Tracking> =>
    await (await fetch(`${server.httpUrl}/api/track/${tokens[number]}`)).json() as Record<string, unknown> & Tracking
  const rendered = async (layer: Layer): Promise<Point[]> => await page.evaluate((id) => {
    const map = (window as unknown as { trackstream?: { map: { queryRenderedFeatures: (o: object) => Array<{ properties: { lat: number, lon: number } }> } } }).trackstream?.map
    if (map === undefined) return []
    const seen = new Map<string, { lat: number, lon: number }>()
    for (const { properties: { lat, lon } } of map.queryRenderedFeatures({ layers: [id] })) seen.set(`${lat},${lon}`, { lat, lon })
    return [...seen.values()]
  }, layer)
  const mapLoaded = async (): Promise<void> => {
    await page.waitForFunction(() => (window as unknown as { trackstream?: { map: { loaded: () => boolean } } }).trackstream?.map.loaded() === true)
  }
  /** Before a screenshot: the map has drawn where it is going, not a frame of the way there. */
  const mapSettled = async (): Promise<void> => {
    await page.waitForFunction(() => {
      const map = (window as unknown as { trackstream?: { map: { loaded: () => boolean, isMoving: () => boolean, areTilesLoaded: () => boolean } } }).trackstream?.map
      return map !== undefined && map.loaded() && !map.isMoving() && map.areTilesLoaded()
    })
  }
  const openTracking = async (number: string, viewport?: { width: number, height: number }): Promise<OpenedPage> =>
    await openPage(browser, `${server.httpUrl}/t/${tokens[number]}`, {
      viewport,
      watch: (page) => { page.on('request', (request) => { if (/\.m?js$/.test(new URL(request.url()).pathname)) scripts.push(new URL(request.url()).pathname) }) }
    })
  const openSocketA = async (): Promise<FrameCollector<Frame>> => {
    const socket = await FrameCollector.open<Frame>(`${server.wsUrl}/ws/track/${tokens['TS-MAP-A']}`)
    sockets.push(socket)
    await socket.waitFor((f) => f.type === 'snapshot')
    return socket
  }

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true })
    server = await startTestServer({ env: ENV })
    const tracker = await server.registerDevice(SECRETS.device)
    driverSecret = (await server.registerDevice('driver-9')).secret
    expect((await server.api('POST', '/api/vehicles', { id: SECRETS.vehicle, name: 'Van 7', plate: SECRETS.plate, deviceId: SECRETS.device })).status).toBe(201)
    for (const [number, home] of [['TS-MAP-A', HOME_A], ['TS-MAP-B', HOME_B]] as const) {
      const created = await server.api<{ trackingUrl: string }>('POST', '/api/parcels', {
        trackingNumber: number, destination: { city: 'Bangkok', country: 'TH', ...home }, cashOnDelivery: { amount: 320, currency: 'THB' }
      })
      expect(created.status).toBe(201)
      tokens[number] = new URL(created.body.trackingUrl).pathname.split('/').pop() ?? ''
    }
    clock = Date.now()
    van = await connectDevice(server.mqttUrl, SECRETS.device, tracker.secret)
    driver = await connectDevice(server.mqttUrl, 'driver-9', driverSecret)
    await fix(DEPOT)
    // both parcels go onto the same van at the depot
    expect((await server.api('POST', '/api/custody', { items: [{ parcel: 'TS-MAP-A' }, { parcel: 'TS-MAP-B' }], into: { vehicle: SECRETS.vehicle }, time: new Date(tick()).toISOString() })).status).toBe(200)
    browser = await launchBrowser()
  }, 120_000)

  afterAll(async () => {
    for (const socket of sockets) socket.close()
    await browser?.close()
    await van?.endAsync()
    await driver?.endAsync()
    await server?.close()
  })

  it('shows no map, and loads no map code, before the parcel is out for delivery', async () => {
    await openSocketA()
    ;({ page, errors } = await openTracking('TS-MAP-A'))
    await expect.poll(async () => await page.textContent('#status')).toBe('Shipment information received')
    expect(await page.isVisible('#timeline')).toBe(true)
    expect(await page.isHidden('#map')).toBe(true)
    expect(await page.evaluate(() => 'trackstream' in window)).toBe(false)
    expect(scripts.some((script) => script.includes('buyer-map') || script.includes('maplibre'))).toBe(false)
    // aboard the van, but not yet on its way to the buyer: no van, and no coordinates at all yet
    const tracking = await trackingOf('TS-MAP-A')
    expect(Object.keys(tracking).sort()).toEqual(PUBLIC_KEYS)
    expect(tracking).toMatchObject({ van: null, deliveredAt: null, destinationPoint: null })
    expect(JSON.stringify([tracking, framesOfA()])).not.toMatch(/"lat"|"lon"/)
  })

  it('shows a far van only as the 0.02° cell it is in, and says nothing while it stays in that cell', async () => {
    for (const number of ['TS-MAP-A', 'TS-MAP-B']) {
      expect((await server.api('POST', `/api/parcels/${number}/milestones`, { code: 'out_for_delivery', time: new Date(tick()).toISOString() })).status).toBe(201)
    }
    // out for delivery: the van appears at once, where it is (the depot's cell, 13 km from A)
    await eventually(async () => { expect(vanFrames().map((f) => f.van)).toEqual([{ lat: 13.69, lon: 100.61, precise: false, time: expect.any(String) }]) })
    // with the buyer's own point, which the page did not have before
    expect(vanFrames()[0]?.destinationPoint).toEqual(HOME_A)
    await fix(FAR)
    await fix(FAR_SAME_CELL)
    // the van stops at B's door; A sees only the cell, and only once B's door is not in it
    await fix(HOME_B)
    const delivered = await fetch(`${server.httpUrl}/api/driver/events`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`driver-9:${driverSecret}`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'delivered', parcel: 'TS-MAP-B', time: tick(), ...HOME_B })
    })
    expect(delivered.status).toBe(200)
    expect((await trackingOf('TS-MAP-B')).deliveredAt).toEqual(HOME_B)
    await eventually(async () => { expect(vanFrames()).toHaveLength(3) })
    // three cells, in order; the fix 300 m on in the first far cell sent nothing
    expect(vanFrames().map((f) => f.van)).toEqual([
      { lat: 13.69, lon: 100.61, precise: false, time: expect.any(String) },
      { lat: 13.81, lon: 100.57, precise: false, time: new Date(clock - 3 * STEP).toISOString() },
      { lat: 13.73, lon: 100.53, precise: false, time: new Date(clock - STEP).toISOString() }
    ])
    for (const frame of vanFrames()) expect(Object.keys(frame).sort()).toEqual(['destinationPoint', 'type', 'van'])
    for (const frame of vanFrames()) expect(Object.keys(frame.van ?? {}).sort()).toEqual(['lat', 'lon', 'precise', 'time'])
    const tracking = await trackingOf('TS-MAP-A')
    expect(Object.keys(tracking).sort()).toEqual(PUBLIC_KEYS)
    expect(tracking.van).toEqual(vanFrames().at(-1)?.van)
    expect(tracking.destinationPoint).toEqual(HOME_A)

    // the page's map, loaded now, draws the cell as a shaded circle: no van marker
    await mapLoaded()
    expect(await page.isVisible('#map')).toBe(true)
    await expect.poll(async () => await rendered('van-area'), { timeout: 10_000 }).toEqual([{ lat: 13.73, lon: 100.53 }])
    expect(await rendered('van')).toEqual([])
    await expect.poll(async () => await rendered('destination'), { timeout: 10_000 }).toEqual([HOME_A])
    expect(await rendered('delivered-at')).toEqual([])
    expect(await page.textContent('#map-title')).toBe('Your parcel is on the van')
    expect(await page.textContent('#map-detail')).toContain('The van is somewhere in the shaded area')
    expect(scripts.filter((script) => script.includes('buyer-map'))).toHaveLength(1)
    // the viewport only: a full-page shot resizes the viewport, and with it the map (its height is in vh), while it captures
    await mapSettled()
    await page.screenshot({ path: path.join(ARTIFACTS, 'tracking-map-coarse.png') })
  })

  it('shows the van exactly once it is within 3 km of the buyer', async () => {
    await fix(NEAR)
    await eventually(async () => { expect(vanFrames().at(-1)?.van).toEqual({ ...NEAR, precise: true, time: new Date(clock).toISOString() }) })
    await expect.poll(async () => await rendered('van'), { timeout: 10_000 }).toEqual([NEAR])
    expect(await rendered('van-area')).toEqual([])
    await expect.poll(async () => await rendered('destination'), { timeout: 10_000 }).toEqual([HOME_A])
    expect(await page.textContent('#map-detail')).toContain('The van is close to you')
    expect((await trackingOf('TS-MAP-A')).van).toEqual({ ...NEAR, precise: true, time: new Date(clock).toISOString() })
    await mapSettled()
    await page.screenshot({ path: path.join(ARTIFACTS, 'tracking-map-close.png') })
  })

  it('resyncs the van from the snapshot after the connection drops', async () => {
    for (const client of server.app.websocketServer.clients) client.terminate()
    await eventually(async () => { expect(server.app.websocketServer.clients.size).toBe(0) }, 2000)
    // the van moves while nobody is connected: the page can only learn it from the new snapshot
    await fix(NEARER)
    await expect.poll(async () => await rendered('van'), { timeout: 10_000 }).toEqual([NEARER])
    const again = await openSocketA()
    expect(again.frames[0]?.tracking?.van).toEqual({ ...NEARER, precise: true, time: new Date(clock).toISOString() })
    expect(Object.keys(again.frames[0]?.tracking ?? {}).sort()).toEqual(PUBLIC_KEYS)
  })

  it('shows where the parcel was delivered, and no van after that', async () => {
    expect(await page.textContent('#cod')).toMatch(/^Pay on delivery: THB\s320\.00$/)
    await publish(driver, deviceTopic('driver-9', 'driver'), JSON.stringify({ type: 'delivered', parcel: 'TS-MAP-A', time: tick(), ...DOORSTEP, cod: { amount: '320.00', currency: 'THB' } }))
    const socket = sockets.at(-1) as FrameCollector<Frame>
    expect(await socket.waitFor((f) => f.type === 'van' && f.van === null)).toEqual({ type: 'van', van: null, destinationPoint: null })
    expect(await socket.waitFor((f) => f.type === 'deliveredAt')).toEqual({ type: 'deliveredAt', deliveredAt: DOORSTEP, destinationPoint: HOME_A })
    await expect.poll(async () => await page.textContent('#status')).toBe('Delivered')
    expect(await page.textContent('#cod')).toMatch(/^Paid on delivery: THB\s320\.00$/)
    await expect.poll(async () => await rendered('delivered-at'), { timeout: 10_000 }).toEqual([DOORSTEP])
    await expect.poll(async () => await rendered('van')).toEqual([])
    expect(await rendered('van-area')).toEqual([])
    // the van's last frame said null for the point: the page keeps the one it has
    await expect.poll(async () => await rendered('destination'), { timeout: 10_000 }).toEqual([HOME_A])
    expect(await page.textContent('#map-title')).toBe('Delivered here')
    const tracking = await trackingOf('TS-MAP-A')
    expect(tracking).toMatchObject({ van: null, deliveredAt: DOORSTEP, destinationPoint: HOME_A })
    expect(Object.keys(tracking).sort()).toEqual(PUBLIC_KEYS)

    // the van drives on to its next stop: buyer A hears nothing of it
    const before = vanFrames().length
    await fix({ lat: 13.76, lon: 100.51 })
    await fix({ lat: 13.77, lon: 100.53 })
    await new Promise((resolve) => setTimeout(resolve, 400))
    expect(vanFrames()).toHaveLength(before)
    expect(await rendered('van')).toEqual([])
    expect((await trackingOf('TS-MAP-A')).van).toBeNull()
    await mapSettled()
    await page.screenshot({ path: path.join(ARTIFACTS, 'tracking-delivered.png') })
    expect(errors).toEqual([])
    await page.close()
  })

  it('never sent buyer A anything about buyer B, the van\'s identity or its route', async () => {
    const everything = JSON.stringify([framesOfA(), await trackingOf('TS-MAP-A')])
    for (const secret of [...Object.values(SECRETS), String(HOME_B.lat), String(HOME_B.lon), String(FAR.lat), String(FAR_SAME_CELL.lat), String(DEPOT.lat), String(DEPOT.lon)]) {
      expect(everything, secret).not.toContain(secret)
    }
    expect(new Set(framesOfA().map((f) => f.type))).toEqual(new Set(['snapshot', 'milestones', 'van', 'deliveredAt']))
    // and the only coordinates are A's own, the cells, the van near A, and A's doorstep
    const numbers = [...everything.matchAll(/"(?:lat|lon)":(-?[\d.]+)/g)].map((m) => Number(m[1]))
    const allowed = new Set([HOME_A, DOORSTEP, NEAR, NEARER, { lat: 13.69, lon: 100.61 }, { lat: 13.81, lon: 100.57 }, { lat: 13.73, lon: 100.53 }].flatMap((p) => [p.lat, p.lon]))
    expect(numbers.filter((n) => !allowed.has(n))).toEqual([])
  })

  it('fits a phone: no sideways scroll, the map at most 45% of the height, the language at hand', async () => {
    const phone = await openTracking('TS-MAP-A', { width: 390, height: 844 })
    page = phone.page
    await expect.poll(async () => await page.textContent('#status')).toBe('Delivered')
    await mapLoaded()
    await expect.poll(async () => await rendered('delivered-at'), { timeout: 10_000 }).toEqual([DOORSTEP])
    await expect.poll(async () => await rendered('destination'), { timeout: 10_000 }).toEqual([HOME_A])
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
    expect(await page.isVisible('#map')).toBe(true)
    expect(await page.isVisible('#timeline li')).toBe(true)
    const map = await page.locator('#map').boundingBox()
    expect(map?.height).toBeGreaterThan(150)
    expect(map?.height).toBeLessThanOrEqual(844 * 0.45 + 1)
    expect((map?.x ?? 0) + (map?.width ?? 0)).toBeLessThanOrEqual(390)
    const select = await page.locator('#language').boundingBox()
    expect(select).not.toBeNull()
    expect((select?.x ?? 0) + (select?.width ?? 0)).toBeLessThanOrEqual(390)
    expect(select?.y).toBeLessThan(844)
    await mapSettled()
    await page.screenshot({ path: path.join(ARTIFACTS, 'tracking-phone.png') })
    await page.selectOption('#language', 'th')
    expect(await page.textContent('#map-title')).toBe('จัดส่งที่นี่')
    expect(await page.textContent('#legend-destination')).toBe('ที่อยู่ของคุณ')
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
    await page.selectOption('#language', 'en')
    expect(phone.errors).toEqual([])
    await page.close()
  })
})
