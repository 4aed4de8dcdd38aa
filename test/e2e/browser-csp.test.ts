import type { MqttClient } from 'mqtt'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceTopic } from '../../proto/topics.js'
import { browserUnavailable, launchBrowser } from '../support/browser.js'
import { connectDevice, publish } from '../support/clients.js'
import { startTestServer, TEST_API_KEY, type TestServer } from '../support/server.js'

const unavailable = browserUnavailable()
// CI installs Chromium, so there a missing browser is a failure, not a skip
if (unavailable !== undefined && process.env.CI !== undefined) throw new Error(unavailable)
if (unavailable !== undefined) console.warn(`CSP browser tests skipped: ${unavailable}`)

interface Violation { directive: string, blocked: string, source: string }
interface Watched { page: Page, violations: () => Promise<Violation[]>, errors: string[] }

const HOME = { lat: 13.7563, lon: 100.5018 }

/**
 * The pages under their Content-Security-Policy in a real Chromium: every violation the page
 * reports (securitypolicyviolation events) and every console error, CSP refusals included, must
 * be none, and the maps must still draw (MapLibre's worker, WebGL, the live WebSocket).
 */
describe.skipIf(unavailable !== undefined)('the pages under their Content-Security-Policy', () => {
  let server: TestServer
  let browser: BrowserContext
  let van: MqttClient
  let token = ''

  /** A page at `route`, listening for violations from before its first script runs. */
  const open = async (route: string): Promise<Watched> => {
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()) })
    page.on('pageerror', (error) => { errors.push(error.message) })
    // init scripts are injected by the browser, not the page, so the policy does not apply to them
    await page.addInitScript(() => {
      const seen: Array<{ directive: string, blocked: string, source: string }> = []
      Object.defineProperty(window, '__cspViolations', { value: seen })
      document.addEventListener('securitypolicyviolation', (event) => {
        seen.push({ directive: event.effectiveDirective, blocked: event.blockedURI, source: `${event.sourceFile}:${event.lineNumber}` })
      })
    })
    await page.goto(`${server.httpUrl}${route}`)
    return { page, errors, violations: async () => await page.evaluate(() => (window as unknown as { __cspViolations: Violation[] }).__cspViolations) }
  }

  const mapLoaded = async (page: Page): Promise<void> => {
    await page.waitForFunction(() => (window as unknown as { trackstream?: { map: { loaded: () => boolean } } }).trackstream?.map.loaded() === true)
  }

  const rendered = async (page: Page, layer: string): Promise<number> => await page.evaluate((id) => {
    const map = (window as unknown as { trackstream?: { map: { queryRenderedFeatures: (o: object) => unknown[] } } }).trackstream?.map
    return map === undefined ? 0 : map.queryRenderedFeatures({ layers: [id] }).length
  }, layer)

  beforeAll(async () => {
    server = await startTestServer({ env: { ETA_SWEEP_MS: '3600000', EXCEPTION_SWEEP_MS: '3600000' } })
    const { secret } = await server.registerDevice('csp-van')
    expect((await server.api('POST', '/api/vehicles', { id: 'CSP1', name: 'Van C1', deviceId: 'csp-van' })).status).toBe(201)
    const parcel = await server.api<{ trackingUrl: string }>('POST', '/api/parcels', {
      trackingNumber: 'TS-CSP-1', destination: { city: 'Bangkok', country: 'TH', ...HOME }
    })
    expect(parcel.status).toBe(201)
    token = new URL(parcel.body.trackingUrl).pathname.split('/').pop() ?? ''
    van = await connectDevice(server.mqttUrl, 'csp-van', secret)
    await publish(van, deviceTopic('csp-van', 'fix'), JSON.stringify({ time: Date.now() - 5000, lat: 13.70, lon: 100.60 }))
    expect((await server.api('POST', '/api/custody', { items: [{ parcel: 'TS-CSP-1' }], into: { vehicle: 'CSP1' } })).status).toBe(200)
    // on delivery day the buyer's page loads its map
    expect((await server.api('POST', '/api/parcels/TS-CSP-1/milestones', { code: 'out_for_delivery' })).status).toBe(201)
    browser = await launchBrowser()
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await van?.endAsync()
    await server?.close()
  })

  it('lets the ops map log in, draw, and take live positions over its WebSocket, with no violation', async () => {
    const { page, errors, violations } = await open('/')
    await page.fill('#login-password', TEST_API_KEY)
    await page.click('button[type=submit]')
    // the live socket to the same host: allowed by connect-src, and by the Origin check
    await page.waitForSelector('#connection[data-connected="true"]')
    await mapLoaded(page)
    await publish(van, deviceTopic('csp-van', 'fix'), JSON.stringify({ time: Date.now() - 1000, lat: 13.72, lon: 100.58 }))
    // drawn by WebGL from tiles MapLibre's worker made: the worker ran under worker-src
    await expect.poll(async () => await rendered(page, 'vehicles'), { timeout: 10_000 }).toBe(1)
    expect(await page.evaluate(() => getComputedStyle(document.querySelector('#app') as Element).display)).toBe('grid')
    expect(await violations()).toEqual([])
    expect(errors).toEqual([])
    await page.close()
  })

  it('lets the buyer\'s page show its timeline and its delivery-day map, with no violation', async () => {
    const { page, errors, violations } = await open(`/t/${token}`)
    await expect.poll(async () => await page.textContent('#status')).not.toBe('Loading…')
    await page.waitForSelector('#map', { state: 'visible' })
    await mapLoaded(page)
    await expect.poll(async () => await rendered(page, 'destination'), { timeout: 10_000 }).toBeGreaterThan(0)
    // the page's own <style> block applied: allowed by its hash
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(245, 246, 248)')
    expect(await violations()).toEqual([])
    expect(errors).toEqual([])
    await page.close()
  })

  it('refuses what the policy is for: an inline script added to a page does not run', async () => {
    const { page, violations } = await open('/t/some-token')
    const ran = await page.evaluate(() => {
      const script = document.createElement('script')
      script.textContent = 'window.__injected = true'
      document.head.append(script)
      return (window as unknown as { __injected?: boolean }).__injected === true
    })
    expect(ran).toBe(false)
    expect((await violations()).map((v) => v.directive)).toContain('script-src-elem')
    await page.close()
  })

  it('lets Swagger UI (/docs) render under its own policy, with no violation', async () => {
    const { page, errors, violations } = await open('/docs')
    await page.waitForSelector('.swagger-ui .info .title')
    await page.waitForSelector('.opblock')
    expect(await violations()).toEqual([])
    expect(errors).toEqual([])
    await page.close()
  })
})
