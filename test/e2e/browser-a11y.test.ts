import { mkdir, readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'
import type { MqttClient } from 'mqtt'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceTopic } from '../../proto/topics.js'
import { ARTIFACTS, browserUnavailable, launchBrowser, openPage, type OpenedPage } from '../support/browser.js'
import { connectDevice, publish } from '../support/clients.js'
import { startTestServer, TEST_API_KEY, type TestServer } from '../support/server.js'

const unavailable = browserUnavailable()
if (unavailable !== undefined && process.env.CI !== undefined) throw new Error(unavailable)
if (unavailable !== undefined) console.warn(`browser accessibility tests skipped: ${unavailable}`)

interface AxeViolation { id: string, help: string, nodes: Array<{ target: string[] }> }

/**
 * Every page, as a keyboard user, a phone user and axe-core (WCAG 2.1 A and AA, contrast included)
 * meet it. The pages hold real data: the checks see the panels filled, not empty shells.
 */
describe.skipIf(unavailable !== undefined)('the pages are usable by keyboard, on a phone, and readable', () => {
  let server: TestServer
  let browser: BrowserContext
  let van: MqttClient
  let token: string
  let vanToken: string
  let axeSource: string

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true })
    axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')
    server = await startTestServer()
    const { secret } = await server.registerDevice('van-a1')
    await server.api('POST', '/api/vehicles', { id: 'VA1', name: 'Van A1', plate: 'กข 1234', deviceId: 'van-a1', driver: { name: 'Malee', phone: '+66 2 123 4567' } })
    await server.api('POST', '/api/stations', { id: 'BKK', name: 'Bangkok hub', kind: 'hub', lat: 13.7, lon: 100.55, city: 'Bangkok', country: 'TH' })
    const parcel = await server.api<{ trackingUrl: string }>('POST', '/api/parcels', {
      trackingNumber: 'TSA0001', originCountry: 'CN', lastMilePartner: 'FastMile', destination: { city: 'Bangkok', country: 'TH' }, cashOnDelivery: { amount: 450, currency: 'THB' }
    })
    token = parcel.body.trackingUrl.split('/t/')[1] ?? ''
    await server.api('POST', '/api/parcels/TSA0001/milestones', { code: 'arrived_at_facility', stationId: 'BKK' })
    const onVan = await server.api<{ trackingUrl: string }>('POST', '/api/parcels', {
      trackingNumber: 'TSA0002', destination: { city: 'Bangkok', country: 'TH', lat: 13.721, lon: 100.521 }, cashOnDelivery: { amount: 99, currency: 'THB' }
    })
    vanToken = onVan.body.trackingUrl.split('/t/')[1] ?? ''
    await server.api('POST', '/api/custody', { items: [{ parcel: 'TSA0002' }], into: { vehicle: 'VA1' } })
    await server.api('POST', '/api/parcels/TSA0002/milestones', { code: 'out_for_delivery' })
    van = await connectDevice(server.mqttUrl, 'van-a1', secret)
    await publish(van, deviceTopic('van-a1', 'fix'), JSON.stringify({ time: Date.now() - 1000, lat: 13.72, lon: 100.52, speed: 9 }))
    browser = await launchBrowser()
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await van?.endAsync()
    await server?.close()
  })

  const open = async (route: string, viewport = { width: 1280, height: 800 }): Promise<OpenedPage> => await openPage(browser, `${server.httpUrl}${route}`, { viewport })

  const violations = async (page: Page): Promise<string[]> => {
    // evaluated through the DevTools protocol: the pages' CSP refuses an inline <script>, rightly
    await page.evaluate(axeSource)
    const found = await page.evaluate(async () => {
      const { axe } = window as unknown as { axe: { run: (context: object, options: object) => Promise<{ violations: AxeViolation[] }> } }
      // the map canvas is a picture of the map, not text; its controls are still checked
      return (await axe.run({ exclude: [['.maplibregl-canvas']] }, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] })).violations
    })
    return found.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`)
  }

  const mapLoaded = async (page: Page): Promise<void> => {
    await page.waitForFunction(() => (window as unknown as { trackstream?: { map: { loaded: () => boolean } } }).trackstream?.map.loaded() === true)
  }

  /** What the Tab key visits, in order, each with whether the focus can be seen. */
  const tabStops = async (page: Page, count: number): Promise<Array<{ name: string, visible: boolean }>> => {
    const stops: Array<{ name: string, visible: boolean }> = []
    for (let i = 0; i < count; i++) {
      await page.keyboard.press('Tab')
      stops.push(await page.evaluate(() => {
        const element = document.activeElement as HTMLElement | null
        if (element === null || element === document.body) return { name: 'body', visible: false }
        const style = getComputedStyle(element)
        const name = element.id !== '' ? `#${element.id}` : (element.getAttribute('aria-label') ?? element.textContent ?? element.tagName).trim()
        // a date field's calendar button sits in Chromium's own shadow tree and draws Chromium's own ring
        if (element instanceof HTMLInputElement && element.type === 'datetime-local' && !element.matches(':focus')) return { name, visible: true }
        return { name, visible: (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none' }
      }))
    }
    return stops
  }

  it('lets the ops desk log in and work the panels by keyboard alone, with nothing axe-core objects to', async () => {
    const { page, errors } = await open('/')
    await page.waitForSelector('#login:not([hidden])')
    expect(await violations(page)).toEqual([])
    await page.screenshot({ path: path.join(ARTIFACTS, 'ops-login.png') })
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('login-email')
    // no email: the password field takes the installation key
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('login-password')
    await page.keyboard.type(TEST_API_KEY)
    await page.keyboard.press('Enter')
    await page.waitForSelector('#app:not([hidden])')
    await mapLoaded(page)
    await page.waitForSelector('#device-table tr[data-device="van-a1"]')

    const stops = await tabStops(page, 40)
    const names = stops.map((s) => s.name)
    expect(names).toContain('#kpi-by')
    expect(names).toEqual(expect.arrayContaining(['Zoom in', 'Zoom out']))
    for (const stop of stops.filter((s) => s.name !== 'body')) expect(stop, `focus on ${stop.name} shows`).toMatchObject({ visible: true })

    expect(await violations(page)).toEqual([])

    // with search results listed
    await page.fill('#search', 'TSA')
    await expect.poll(async () => await page.locator('#search-results button').count(), { timeout: 10_000 }).toBe(2)
    expect(await violations(page)).toEqual([])
    expect(errors).toEqual([])
    await page.close()
  })

  it('fits the ops page on a phone: the map on top, the panels below, nothing wider than the screen', async () => {
    const { page, errors } = await open('/', { width: 390, height: 844 })
    await mapLoaded(page)
    const tooWide = await page.evaluate(() => [...document.querySelectorAll('aside *')].filter((e) => e.getBoundingClientRect().right > 391 && e.closest('.scroll') === null).map((e) => e.id === '' ? e.tagName : `#${e.id}`))
    expect(tooWide).toEqual([])
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
    const map = await page.locator('#map').boundingBox()
    const aside = await page.locator('aside').boundingBox()
    expect(map?.height).toBeGreaterThan(250)
    expect(map?.width).toBeGreaterThan(380)
    expect((aside?.y ?? 0)).toBeGreaterThanOrEqual((map?.y ?? 0) + (map?.height ?? 0) - 1)
    await page.screenshot({ path: path.join(ARTIFACTS, 'ops-phone.png'), fullPage: true })
    expect(errors).toEqual([])
    await page.close()
  })

  it('gives the buyer a page axe-core finds nothing wrong with, in every language, with a keyboard-usable language choice', async () => {
    const { page, errors } = await open(`/t/${token}`, { width: 390, height: 844 })
    await expect.poll(async () => await page.locator('#timeline li').count()).toBe(2)
    for (const language of ['en', 'zh', 'th']) {
      await page.selectOption('#language', language)
      expect(await violations(page), language).toEqual([])
    }
    await page.selectOption('#language', 'en')
    await page.locator('body').click({ position: { x: 5, y: 5 } })
    const stops = await tabStops(page, 1)
    expect(stops).toEqual([{ name: '#language', visible: true }])
    await page.keyboard.press('ArrowDown')
    await expect.poll(async () => await page.getAttribute('html', 'lang')).not.toBe('en-US')
    await page.screenshot({ path: path.join(ARTIFACTS, 'tracking-page-phone-a11y.png'), fullPage: true })
    expect(errors).toEqual([])
    await page.close()

    // on delivery day, with the van on the map
    const day = await open(`/t/${vanToken}`, { width: 390, height: 844 })
    await day.page.waitForSelector('#delivery-map:not([hidden])', { timeout: 10_000 })
    await day.page.waitForFunction(() => (window as unknown as { trackstream?: { map: { loaded: () => boolean } } }).trackstream?.map.loaded() === true)
    expect(await violations(day.page)).toEqual([])
    expect(await day.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
    expect(day.errors).toEqual([])
    await day.page.close()
  })
})
