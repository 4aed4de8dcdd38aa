import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import type { MqttClient } from 'mqtt'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceTopic } from '../../proto/topics.js'
import { ARTIFACTS, browserUnavailable, launchBrowser, openPage } from '../support/browser.js'
import { connectDevice, publish } from '../support/clients.js'
import { startTestServer, TEST_API_KEY, type TestServer } from '../support/server.js'

const unavailable = browserUnavailable()
// CI installs Chromium, so there a missing browser is a failure, not a skip
if (unavailable !== undefined && process.env.CI !== undefined) throw new Error(unavailable)
if (unavailable !== undefined) console.warn(`browser tests skipped: ${unavailable}`)

interface Rendered { lon: number, lat: number, properties: Record<string, unknown> }

const MIN = 60_000
// six fixes five minutes apart, two hours ago, driving north-east: inside the replay's default 24 hours
const T0 = Date.now() - 2 * 60 * MIN
const fixAt = (k: number): { time: number, lat: number, lon: number, speed: number } =>
  ({ time: T0 + k * 5 * MIN, lat: 13.7 + k * 0.01, lon: 100.5 + k * 0.01, speed: 9 })
const LAST = fixAt(5)

describe.skipIf(unavailable !== undefined)('the ops page\'s search box and route replay in a real browser', () => {
  let server: TestServer
  let browser: BrowserContext
  let van: MqttClient

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true })
    server = await startTestServer()
    const { secret } = await server.registerDevice('van-r1')
    expect((await server.api('POST', '/api/vehicles', { id: 'VR1', name: 'Van R1', plate: 'RPL-1', deviceId: 'van-r1' })).status).toBe(201)
    for (const trackingNumber of ['TSR-0001', 'TSR-0002']) {
      expect((await server.api('POST', '/api/parcels', { trackingNumber, destination: { city: 'Bangkok', country: 'TH' } })).status).toBe(201)
    }
    van = await connectDevice(server.mqttUrl, 'van-r1', secret)
    for (const k of [0, 1, 2]) await publish(van, deviceTopic('van-r1', 'fix'), JSON.stringify(fixAt(k)))
    // loaded between the third and fourth fix: the milestone is placed at the third
    expect((await server.api('POST', '/api/custody', { items: [{ parcel: 'TSR-0001' }], into: { vehicle: 'VR1' }, time: new Date(fixAt(2).time + MIN).toISOString() })).status).toBe(200)
    for (const k of [3, 4, 5]) await publish(van, deviceTopic('van-r1', 'fix'), JSON.stringify(fixAt(k)))
    browser = await launchBrowser()
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await van?.endAsync()
    await server?.close()
  })

  /** The ops page, logged in, with its map loaded, and the errors its console shows. */
  const openOps = async (): Promise<{ page: Page, errors: string[] }> => {
    const { page, errors } = await openPage(browser, `${server.httpUrl}/`)
    // the browser keeps the session cookie: only the first page of the run logs in
    await page.waitForSelector('#login:not([hidden]), #app:not([hidden])', { timeout: 10_000 })
    if (await page.isVisible('#login')) {
      await page.fill('#login-password', TEST_API_KEY)
      await page.click('button[type=submit]')
    }
    await page.waitForFunction(() => (window as unknown as { trackstream?: { map: { loaded: () => boolean } } }).trackstream?.map.loaded() === true, undefined, { timeout: 15_000 })
    return { page, errors }
  }

  /** Where the map looks: centre to about 100 m, zoom to a tenth. */
  const view = async (page: Page): Promise<{ center: [number, number], zoom: number }> => await page.evaluate(() => {
    const { map } = (window as unknown as { trackstream: { map: { getCenter: () => { lat: number, lng: number }, getZoom: () => number } } }).trackstream
    const c = map.getCenter()
    return { center: [Math.round(c.lat * 1000) / 1000, Math.round(c.lng * 1000) / 1000], zoom: Math.round(map.getZoom() * 10) / 10 }
  })

  const rendered = async (page: Page, layer: string): Promise<Rendered[]> => await page.evaluate((id) => {
    const { map } = (window as unknown as { trackstream: { map: { queryRenderedFeatures: (o: object) => Array<{ properties: Record<string, unknown>, geometry: { type: string, coordinates: unknown } }> } } }).trackstream
    return map.queryRenderedFeatures({ layers: [id] }).map((f) => {
      const [lon, lat] = (f.geometry.type === 'Point' ? f.geometry.coordinates : [NaN, NaN]) as [number, number]
      return { lon, lat, properties: f.properties }
    })
  }, layer)

  // a loaded machine renders SwiftShader WebGL slowly
  it('finds a parcel by tracking number, and flies the map to the van carrying it; says when something has no position', { timeout: 90_000 }, async () => {
    const { page, errors } = await openOps()
    expect(await page.getAttribute('#search', 'type')).toBe('search')
    expect(await page.textContent('label[for=search]')).toBeTruthy()
    await page.fill('#search', 'tsr-000')
    await expect.poll(async () => await page.locator('#search-results button strong').allTextContents()).toEqual(['TSR-0001', 'TSR-0002'])
    expect(await page.textContent('#search-status')).toBe('2 found')

    await page.fill('#search', 'tsr-0001')
    await expect.poll(async () => await page.locator('#search-results button strong').allTextContents()).toEqual(['TSR-0001'])
    // keyboard only: down from the box to the result, Enter to choose it
    await page.focus('#search')
    await page.keyboard.press('ArrowDown')
    expect(await page.evaluate(() => document.activeElement?.textContent)).toContain('TSR-0001')
    await page.keyboard.press('Enter')
    await expect.poll(async () => await view(page), { timeout: 10_000 }).toEqual({ center: [LAST.lat, LAST.lon], zoom: 14 })
    expect(await page.textContent('#search-status')).toBe('TSR-0001 on the map')
    await page.screenshot({ path: path.join(ARTIFACTS, 'ops-search.png') })

    // on no vehicle: nowhere to fly
    await page.fill('#search', 'TSR-0002')
    await expect.poll(async () => await page.locator('#search-results button strong').allTextContents()).toEqual(['TSR-0002'])
    await page.click('#search-results button')
    expect(await page.textContent('#search-status')).toBe('TSR-0002: no position yet')
    expect((await view(page)).center).toEqual([LAST.lat, LAST.lon])
    expect(errors).toEqual([])
    await page.close()
  })

  it('replays a van\'s route with its milestones, and moves the van along it with the slider\'s keys', { timeout: 90_000 }, async () => {
    const { page, errors } = await openOps()
    await page.waitForSelector('#replay-select option[value="VR1"]', { state: 'attached', timeout: 10_000 })
    await page.selectOption('#replay-select', 'VR1')
    // the default range, the last 24 hours, holds the six fixes
    await page.click('#replay-form button[type=submit]')
    await expect.poll(async () => await page.textContent('#replay-status')).toBe('6 fixes, 1 milestone')
    await expect.poll(async () => (await rendered(page, 'replay-route')).length, { timeout: 10_000 }).toBeGreaterThan(0)
    // rendered geometry is snapped to the tiles of the current zoom: read it once fitting the route is over
    await page.waitForFunction(() => (window as unknown as { trackstream: { map: { isMoving: () => boolean } } }).trackstream.map.isMoving() === false, undefined, { timeout: 10_000 })
    const milestones = await rendered(page, 'replay-milestones')
    expect(milestones.map((m) => [m.properties.code, m.properties.trackingNumber])).toEqual([['loaded', 'TSR-0001']])
    expect(milestones[0]?.lon).toBeCloseTo(fixAt(2).lon, 3)
    expect(milestones[0]?.lat).toBeCloseTo(fixAt(2).lat, 3)
    // the map shows the whole route
    const contains = await page.evaluate(([first, last]) => {
      const b = (window as unknown as { trackstream: { map: { getBounds: () => { contains: (p: [number, number]) => boolean } } } }).trackstream.map.getBounds()
      return b.contains(first as [number, number]) && b.contains(last as [number, number])
    }, [[fixAt(0).lon, fixAt(0).lat], [LAST.lon, LAST.lat]])
    expect(contains).toBe(true)

    // the van starts at the first fix
    await expect.poll(async () => (await rendered(page, 'replay-vehicle')).map((p) => [p.lon, p.lat])).toEqual([[expect.closeTo(fixAt(0).lon, 3), expect.closeTo(fixAt(0).lat, 3)]])
    const startTime = await page.textContent('#replay-time')

    expect(await page.locator('#replay-milestone-list button').allTextContents()).toEqual([expect.stringMatching(/ · Loaded onto vehicle · TSR-0001$/)])
    // a click on the milestone lists what happened there
    const point = await page.evaluate(([lon, lat]) => {
      const { map } = (window as unknown as { trackstream: { map: { project: (p: [number, number]) => { x: number, y: number }, getContainer: () => HTMLElement } } }).trackstream
      const at = map.project([lon as number, lat as number])
      const box = map.getContainer().getBoundingClientRect()
      return { x: box.left + at.x, y: box.top + at.y }
    }, [fixAt(2).lon, fixAt(2).lat])
    await page.mouse.click(point.x, point.y)
    await expect.poll(async () => await page.locator('.maplibregl-popup .replay-popup').textContent(), { timeout: 10_000 }).toMatch(/Loaded onto vehicle · TSR-0001$/)
    await page.screenshot({ path: path.join(ARTIFACTS, 'ops-replay.png') })

    // keyboard: one step right moves a thousandth of the way, End to the last fix
    await page.focus('#replay-slider')
    await page.keyboard.press('ArrowRight')
    expect(await page.inputValue('#replay-slider')).toBe('1')
    // a thousandth of 0.05° north: far more than the tile grid's rounding at this zoom
    await expect.poll(async () => (await rendered(page, 'replay-vehicle'))[0]?.lat ?? 0).toBeGreaterThan(fixAt(0).lat + 0.00003)
    await page.keyboard.press('End')
    expect(await page.inputValue('#replay-slider')).toBe('1000')
    await expect.poll(async () => (await rendered(page, 'replay-vehicle')).map((p) => [p.lon, p.lat])).toEqual([[expect.closeTo(LAST.lon, 3), expect.closeTo(LAST.lat, 3)]])
    expect(await page.textContent('#replay-time')).not.toBe(startTime)
    expect(await page.getAttribute('#replay-slider', 'aria-valuetext')).toBe(await page.textContent('#replay-time'))

    // play starts over from the end, and pauses
    await page.keyboard.press('Home')
    await page.click('#replay-play')
    expect(await page.textContent('#replay-play')).toBe('Pause')
    await expect.poll(async () => Number(await page.inputValue('#replay-slider'))).toBeGreaterThan(10)
    await page.click('#replay-play')
    expect(await page.textContent('#replay-play')).toBe('Play')
    const paused = await page.inputValue('#replay-slider')
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(await page.inputValue('#replay-slider')).toBe(paused)

    await page.click('#replay-clear')
    await expect.poll(async () => (await rendered(page, 'replay-route')).length).toBe(0)
    expect(await rendered(page, 'replay-milestones')).toEqual([])
    expect(await rendered(page, 'replay-vehicle')).toEqual([])
    expect(await page.isVisible('#replay-player')).toBe(false)
    expect(errors).toEqual([])
    await page.close()
  })
})
