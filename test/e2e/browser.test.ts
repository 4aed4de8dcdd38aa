import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import type { MqttClient } from 'mqtt'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceTopic } from '../../proto/topics.js'
import { ARTIFACTS, browserUnavailable, launchBrowser, openPage, type OpenedPage } from '../support/browser.js'
import { connectDevice, publish } from '../support/clients.js'
import { startTestServer, TEST_API_KEY, type TestServer } from '../support/server.js'

const unavailable = browserUnavailable()
// CI installs Chromium, so there a missing browser is a failure, not a skip
if (unavailable !== undefined && process.env.CI !== undefined) throw new Error(unavailable)
if (unavailable !== undefined) console.warn(`browser tests skipped: ${unavailable}`)

interface RenderedVehicle { deviceId: string, lon: number, lat: number }

describe.skipIf(unavailable !== undefined)('the pages in a real browser', () => {
  let server: TestServer
  let browser: BrowserContext
  let van: MqttClient
  let token: string
  /** Moves the server's clock, so a parcel can wait for days in a test that lasts seconds. */
  let clockOffset = 0

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true })
    server = await startTestServer({ clock: () => Date.now() + clockOffset })
    const { secret } = await server.registerDevice('van-b1')
    await server.api('POST', '/api/vehicles', { id: 'VB1', name: 'Van B1', deviceId: 'van-b1' })
    const parcel = await server.api<{ trackingUrl: string }>('POST', '/api/parcels', {
      trackingNumber: 'TSB0001', destination: { city: 'Bangkok', country: 'TH' }, cashOnDelivery: { amount: 450, currency: 'THB' }
    })
    token = parcel.body.trackingUrl.split('/t/')[1] ?? ''
    van = await connectDevice(server.mqttUrl, 'van-b1', secret)
    browser = await launchBrowser()
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await van?.endAsync()
    await server?.close()
  })

  /** A page, and the errors its console shows. */
  const open = async (route: string): Promise<OpenedPage> => await openPage(browser, `${server.httpUrl}${route}`)

  const renderedVehicles = async (page: Page): Promise<RenderedVehicle[]> => await page.evaluate(() => {
    const { map } = (window as unknown as { trackstream: { map: { queryRenderedFeatures: (o: object) => Array<{ properties: { deviceId: string }, geometry: { coordinates: [number, number] } }> } } }).trackstream
    return map.queryRenderedFeatures({ layers: ['vehicles'] }).map((f) => ({
      deviceId: f.properties.deviceId, lon: f.geometry.coordinates[0], lat: f.geometry.coordinates[1]
    }))
  })

  it('refuses a customer\'s tracking token at the ops login', async () => {
    const { page, errors } = await open('/')
    await page.fill('#login-password', token)
    await page.click('button[type=submit]')
    await expect.poll(async () => await page.textContent('#login-error')).toBe('That API key is not valid.')
    expect(await page.isVisible('#app')).toBe(false)
    const live = await page.evaluate(async () => await new Promise((resolve) => {
      const socket = new WebSocket(`ws://${window.location.host}/ws/live`)
      socket.onopen = () => { resolve('open') }
      socket.onerror = () => { resolve('refused') }
    }))
    expect(live).toBe('refused')
    // Chromium logs each refusal: the login POST and the WebSocket upgrade
    expect(errors).toEqual([expect.stringContaining('401'), expect.stringContaining('/ws/live')])
    await page.close()
  })

  it('shows a vehicle on the ops map and moves it as fixes arrive', async () => {
    const { page, errors } = await open('/')
    await page.fill('#login-password', TEST_API_KEY)
    await page.click('button[type=submit]')
    await page.waitForSelector('#connection[data-connected="true"]')
    await page.waitForFunction(() => (window as unknown as { trackstream?: { map: { loaded: () => boolean } } }).trackstream?.map.loaded() === true)

    await publish(van, deviceTopic('van-b1', 'fix'), JSON.stringify({ time: Date.now() - 2000, lat: 13.75, lon: 100.5, speed: 10 }))
    // rendered geometry is snapped to the tile grid: about 0.003 degrees at zoom 4
    await expect.poll(async () => await renderedVehicles(page), { timeout: 10_000 }).toEqual([{ deviceId: 'van-b1', lon: expect.closeTo(100.5, 2), lat: expect.closeTo(13.75, 2) }])
    await page.screenshot({ path: path.join(ARTIFACTS, 'ops-map-1.png') })

    await publish(van, deviceTopic('van-b1', 'fix'), JSON.stringify({ time: Date.now() - 1000, lat: 14.5, lon: 101.2, speed: 12 }))
    await expect.poll(async () => await renderedVehicles(page), { timeout: 10_000 }).toEqual([{ deviceId: 'van-b1', lon: expect.closeTo(101.2, 2), lat: expect.closeTo(14.5, 2) }])
    expect(await page.textContent('#vehicle-list')).toContain('Van B1')
    await page.screenshot({ path: path.join(ARTIFACTS, 'ops-map-2.png') })

    // a device that sends something unreadable says why, in the device panel
    await publish(van, deviceTopic('van-b1', 'fix'), '{"_type":"location","lat":13.7,"lon":100.5,"tst":1}')
    await page.reload()
    const row = page.locator('#device-table tr[data-device="van-b1"]')
    await expect.poll(async () => await row.locator('td').allTextContents(), { timeout: 10_000 })
      .toEqual(['van-b1', 'connected', expect.stringMatching(/ s ago$/), '3', 'wrong format ×1'])
    expect(await row.locator('.refused div').getAttribute('title')).toBe('the payload is not in the format the device is registered with')
    await page.screenshot({ path: path.join(ARTIFACTS, 'ops-devices.png') })
    expect(errors).toEqual([])
    await page.close()
  })

  it('lists open exceptions for the ops desk and flies the map to one', async () => {
    expect((await server.api('POST', '/api/stations', { id: 'HKT', name: 'Phuket hub', kind: 'hub', lat: 7.89, lon: 98.4, city: 'Phuket', country: 'TH' })).status).toBe(201)
    expect((await server.api('POST', '/api/parcels', { trackingNumber: 'TSB-STUCK', destination: { city: 'Phuket', country: 'TH' } })).status).toBe(201)
    expect((await server.api('POST', '/api/parcels/TSB-STUCK/milestones', { code: 'arrived_at_facility', stationId: 'HKT' })).status).toBe(201)
    // three days later it is still at the hub: past the 48 h SLA of a lane with no history
    clockOffset = 72 * 3_600_000
    await server.app.sweepExceptions()

    const { page, errors } = await open('/')
    await page.waitForSelector('#exception-list li')
    // TSB0001, registered before and never moved since, is as stalled
    expect(await page.textContent('#exception-count')).toBe('2')
    const stuck = page.locator('#exception-list li', { hasText: 'TSB-STUCK' })
    expect(await stuck.locator('button').textContent()).toMatch(/^Stalled: TSB-STUCK · 2\d h$/)
    expect(await stuck.locator('.detail').textContent()).toContain('(milestone)')
    await page.waitForFunction(() => (window as unknown as { trackstream?: { map: { loaded: () => boolean } } }).trackstream?.map.loaded() === true)
    await stuck.locator('button').focus()
    await page.keyboard.press('Enter')
    await expect.poll(async () => await page.evaluate(() => {
      const center = (window as unknown as { trackstream: { map: { getCenter: () => { lat: number, lng: number } } } }).trackstream.map.getCenter()
      return [Math.round(center.lat * 10) / 10, Math.round(center.lng * 10) / 10]
    }), { timeout: 10_000 }).toEqual([7.9, 98.4])
    await page.screenshot({ path: path.join(ARTIFACTS, 'ops-exceptions.png') })
    expect(errors).toEqual([])
    await page.close()
    clockOffset = 0
  })

  it('draws stations and geofences, and lists what a clicked vehicle carries', async () => {
    expect((await server.api('POST', '/api/stations', { id: 'KBV', name: 'Krabi depot', kind: 'depot', lat: 8.09, lon: 98.91, city: 'Krabi', country: 'TH' })).status).toBe(201)
    expect((await server.api('POST', '/api/geofences', { id: 'F-KBV', name: 'Krabi yard', kind: 'station', stationId: 'KBV', shape: { type: 'circle', lat: 8.09, lon: 98.91, radiusM: 400 } })).status).toBe(201)
    expect((await server.api('POST', '/api/parcels', { trackingNumber: 'TSB-ABOARD', destination: { city: 'Krabi', country: 'TH' } })).status).toBe(201)
    expect((await server.api('POST', '/api/custody', { items: [{ parcel: 'TSB-ABOARD' }], into: { vehicle: 'VB1' } })).status).toBe(200)
    await publish(van, deviceTopic('van-b1', 'fix'), JSON.stringify({ time: Date.now() - 500, lat: 8.095, lon: 98.915, speed: 5 }))

    const { page, errors } = await open('/')
    await page.waitForFunction(() => (window as unknown as { trackstream?: { map: { loaded: () => boolean } } }).trackstream?.map.loaded() === true)
    await page.evaluate(() => { (window as unknown as { trackstream: { map: { jumpTo: (o: object) => void } } }).trackstream.map.jumpTo({ center: [98.91, 8.09], zoom: 14 }) })
    const rendered = async (layer: string): Promise<string[]> => await page.evaluate((id) => {
      const { map } = (window as unknown as { trackstream: { map: { queryRenderedFeatures: (o: object) => Array<{ properties: { id?: string, deviceId?: string } }> } } }).trackstream
      return [...new Set(map.queryRenderedFeatures({ layers: [id] }).map((f) => f.properties.id ?? f.properties.deviceId ?? ''))]
    }, layer)
    await expect.poll(async () => await rendered('geofences'), { timeout: 10_000 }).toEqual(['F-KBV'])
    expect(await rendered('stations')).toEqual(['KBV'])
    await expect.poll(async () => await rendered('vehicles'), { timeout: 10_000 }).toEqual(['van-b1'])

    const point = await page.evaluate(() => {
      const { map } = (window as unknown as { trackstream: { map: { project: (p: [number, number]) => { x: number, y: number }, getContainer: () => HTMLElement } } }).trackstream
      const at = map.project([98.915, 8.095])
      const box = map.getContainer().getBoundingClientRect()
      return { x: box.left + at.x, y: box.top + at.y }
    })
    await page.mouse.click(point.x, point.y)
    await expect.poll(async () => await page.locator('.maplibregl-popup .aboard').textContent(), { timeout: 10_000 }).toContain('TSB-ABOARD')
    await page.screenshot({ path: path.join(ARTIFACTS, 'ops-places.png') })
    expect(errors).toEqual([])
    await page.close()
  })

  it('clusters vehicles at low zoom, glides a vehicle between fixes when zoomed in, and names its driver', async () => {
    const vans: MqttClient[] = []
    for (const [i, lon] of [98.98, 98.985, 98.99].entries()) {
      const { secret } = await server.registerDevice(`van-c${i}`)
      expect((await server.api('POST', '/api/vehicles', { id: `VC${i}`, name: `Van C${i}`, deviceId: `van-c${i}` })).status).toBe(201)
      const client = await connectDevice(server.mqttUrl, `van-c${i}`, secret)
      vans.push(client)
      await publish(client, deviceTopic(`van-c${i}`, 'fix'), JSON.stringify({ time: Date.now() - 5000, lat: 18.79, lon, speed: 8 }))
    }
    expect((await server.api('PUT', '/api/vehicles/VC0/driver', { driver: { name: 'Somchai K.', phone: '+66 81 234 5678' } })).status).toBe(200)

    const { page, errors } = await open('/')
    await page.waitForFunction(() => (window as unknown as { trackstream?: { map: { loaded: () => boolean } } }).trackstream?.map.loaded() === true)
    await page.evaluate(() => { (window as unknown as { trackstream: { map: { jumpTo: (o: object) => void } } }).trackstream.map.jumpTo({ center: [98.98, 18.79], zoom: 6 }) })
    const clusters = async (): Promise<number[]> => await page.evaluate(() => {
      const { map } = (window as unknown as { trackstream: { map: { queryRenderedFeatures: (o: object) => Array<{ properties: { point_count: number } }> } } }).trackstream
      return map.queryRenderedFeatures({ layers: ['vehicle-clusters'] }).map((f) => f.properties.point_count)
    })
    await expect.poll(clusters, { timeout: 10_000 }).toEqual([3])
    const label = page.locator('.cluster-count', { hasText: /^3$/ })
    await expect.poll(async () => await label.getAttribute('aria-label'), { timeout: 10_000 }).toBe('3 vehicles here: zoom in')
    await page.screenshot({ path: path.join(ARTIFACTS, 'ops-clusters.png') })
    // the label is a button: Enter on it zooms in until the three come apart
    await label.focus()
    await page.keyboard.press('Enter')
    await expect.poll(async () => (await renderedVehicles(page)).map((v) => v.deviceId).filter((id) => id.startsWith('van-c')).sort(), { timeout: 10_000 })
      .toEqual(['van-c0', 'van-c1', 'van-c2'])
    expect(await clusters()).toEqual([])

    // zoomed in, a new fix is drawn as a glide: the marker passes points between the two fixes
    await page.evaluate(() => { (window as unknown as { trackstream: { map: { jumpTo: (o: object) => void } } }).trackstream.map.jumpTo({ center: [98.98, 18.79], zoom: 15 }) })
    await page.waitForFunction(() => (window as unknown as { trackstream: { map: { loaded: () => boolean } } }).trackstream.map.loaded())
    await page.evaluate(() => {
      const w = window as unknown as { seen: number[], trackstream: { map: { on: (e: string, f: () => void) => void, querySourceFeatures: (s: string) => Array<{ properties: { deviceId?: string }, geometry: { coordinates: [number, number] } }> } } }
      w.seen = []
      w.trackstream.map.on('render', () => {
        const van = w.trackstream.map.querySourceFeatures('vehicles').find((f) => f.properties.deviceId === 'van-c0')
        if (van !== undefined) w.seen.push(van.geometry.coordinates[0])
      })
    })
    await publish(vans[0] as MqttClient, deviceTopic('van-c0', 'fix'), JSON.stringify({ time: Date.now() - 1000, lat: 18.79, lon: 98.984, speed: 8 }))
    await expect.poll(async () => (await renderedVehicles(page)).find((v) => v.deviceId === 'van-c0')?.lon, { timeout: 10_000 }).toBeCloseTo(98.984, 4)
    const seen = await page.evaluate(() => (window as unknown as { seen: number[] }).seen)
    expect(seen.filter((lon) => lon > 98.9802 && lon < 98.9838).length).toBeGreaterThan(0)

    const at = await page.evaluate(() => {
      const { map } = (window as unknown as { trackstream: { map: { project: (p: [number, number]) => { x: number, y: number }, getContainer: () => HTMLElement } } }).trackstream
      const point = map.project([98.984, 18.79])
      const box = map.getContainer().getBoundingClientRect()
      return { x: box.left + point.x, y: box.top + point.y }
    })
    await page.mouse.click(at.x, at.y)
    await expect.poll(async () => await page.locator('.maplibregl-popup .driver').textContent(), { timeout: 10_000 }).toBe('Driver: Somchai K. · +66 81 234 5678')
    expect(await page.locator('.maplibregl-popup .driver a').getAttribute('href')).toBe('tel:+66812345678')
    await page.screenshot({ path: path.join(ARTIFACTS, 'ops-vehicle-driver.png') })
    expect(errors).toEqual([])
    await page.close()
    for (const client of vans) await client.endAsync()
  })

  it('shows delivery KPIs per partner, as figures and bars, and by lane on request', async () => {
    for (const [number, partner, promised] of [['TSB-K1', 'FastMile', 48], ['TSB-K2', 'FastMile', -1], ['TSB-K3', 'SlowPost', 48]] as const) {
      expect((await server.api('POST', '/api/parcels', {
        trackingNumber: number, originCountry: 'CN', lastMilePartner: partner, promisedBy: new Date(Date.now() + promised * 3_600_000).toISOString(), destination: { city: 'Bangkok', country: 'TH' }
      })).status).toBe(201)
      expect((await server.api('POST', `/api/parcels/${number}/milestones`, { code: 'delivered' })).status).toBe(201)
    }
    await server.app.refreshKpis()
    const { page, errors } = await open('/')
    const fast = page.locator('#kpi-table tr[data-key="FastMile"] td')
    await expect.poll(async () => await fast.allTextContents(), { timeout: 10_000 }).toEqual(['2', '50%', '100%', '100%', '0%', '0%', '—'])
    expect(await page.locator('#kpi-table tr[data-key="FastMile"] td:nth-child(3) .bar').getAttribute('style')).toContain('width: 50%')
    await page.selectOption('#kpi-by', 'lane')
    await expect.poll(async () => await page.locator('#kpi-table tbody th').allTextContents()).toEqual(['CN>TH'])
    await page.screenshot({ path: path.join(ARTIFACTS, 'ops-kpis.png') })
    expect(errors).toEqual([])
    await page.close()
  })

  it('shows the buyer the timeline and adds a new milestone live, without a reload', async () => {
    const { page, errors } = await open(`/t/${token}`)
    await expect.poll(async () => await page.textContent('#status')).toBe('Shipment information received')
    expect(await page.textContent('#tracking-number')).toBe('TSB0001')
    expect(await page.textContent('#cod')).toContain('450')
    await page.screenshot({ path: path.join(ARTIFACTS, 'tracking-page-1.png') })

    expect((await server.api('POST', '/api/parcels/TSB0001/milestones', { code: 'out_for_delivery' })).status).toBe(201)
    await expect.poll(async () => await page.textContent('#status')).toBe('Out for delivery')
    expect(await page.locator('#timeline li').count()).toBe(2)
    await page.screenshot({ path: path.join(ARTIFACTS, 'tracking-page-2.png'), fullPage: true })

    // switched to Thai, and it stays Thai after a reload
    await page.selectOption('#language', 'th')
    expect(await page.textContent('#status')).toBe('กำลังนำส่ง')
    expect(await page.textContent('#timeline li strong')).toBe('กำลังนำส่ง')
    expect(await page.getAttribute('html', 'lang')).toBe('th-TH')
    await page.reload()
    await expect.poll(async () => await page.textContent('#status')).toBe('กำลังนำส่ง')
    await page.screenshot({ path: path.join(ARTIFACTS, 'tracking-page-th.png'), fullPage: true })
    await page.selectOption('#language', 'zh')
    expect(await page.textContent('#status')).toBe('派送中')
    expect(await page.textContent('#language-label')).toBe('语言')
    await page.selectOption('#language', 'en')
    expect(errors).toEqual([])
    await page.close()
  })

  it('shows a reader\'s own health in the device panel, and its disconnected antenna as an exception', async () => {
    const { secret } = await server.registerDevice('r700-b1', 'reader', { format: 'impinj' })
    const reader = await connectDevice(server.mqttUrl, 'r700-b1', secret)
    const at = (seconds: number): string => new Date(Date.now() - seconds * 1000).toISOString()
    for (const event of [
      { timestamp: at(60), eventType: 'inventoryStatus', inventoryStatusEvent: { status: 'running' } },
      { timestamp: at(50), eventType: 'antennaConnected', antennaConnectedEvent: { antennaPort: 1 } },
      { timestamp: at(40), eventType: 'antennaDisconnected', antennaDisconnectedEvent: { antennaPort: 2 } }
    ]) await publish(reader, deviceTopic('r700-b1', 'scan'), JSON.stringify(event))
    await publish(reader, deviceTopic('r700-b1', 'scan'), '[]')
    await reader.endAsync()

    const { page, errors } = await open('/')
    const row = page.locator('#device-table tr[data-device="r700-b1"]')
    await expect.poll(async () => await row.locator('td').nth(1).locator('div').allTextContents(), { timeout: 10_000 })
      .toEqual([expect.stringMatching(/^antenna 2 disconnected \d+ s ago$/), 'antenna 1 connected', expect.stringMatching(/^heartbeat \d+ s ago$/), 'inventory running'])
    expect(await row.locator('td').nth(1).locator('div.refused').textContent()).toMatch(/^antenna 2 disconnected/)
    // nothing the reader said of itself was refused
    expect(await row.locator('td').nth(4).textContent()).toBe('—')
    const entry = page.locator('#exception-list li', { hasText: 'r700-b1' })
    expect(await entry.locator('button').textContent()).toMatch(/^Antenna disconnected: r700-b1 port 2 · \d+ min$/)
    await row.scrollIntoViewIfNeeded()
    await page.screenshot({ path: path.join(ARTIFACTS, 'ops-reader-health.png') })
    expect(errors).toEqual([])
    await page.close()
  })
})
