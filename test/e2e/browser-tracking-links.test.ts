import { mkdir, readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ARTIFACTS, browserUnavailable, launchBrowser, openPage, type OpenedPage } from '../support/browser.js'
import { startTestServer, type TestServer } from '../support/server.js'

const unavailable = browserUnavailable()
// CI installs Chromium, so there a missing browser is a failure, not a skip
if (unavailable !== undefined && process.env.CI !== undefined) throw new Error(unavailable)
if (unavailable !== undefined) console.warn(`browser tests skipped: ${unavailable}`)

interface AxeViolation { id: string, help: string, nodes: Array<{ target: string[] }> }

const PER_MINUTE = 20
// TRUST_PROXY=loopback: each page says in X-Forwarded-For which client it is, so that one page's
// requests never count against another's
const ENV = { TRACKING_LINK_DAYS: '90', TRACKING_RATE_PER_MINUTE: String(PER_MINUTE), TRUST_PROXY: 'loopback' }
/** The browser's own console reports each answer that is not 2xx. */
const EXPECTED_ERRORS = /status of (404|410|429)/

describe.skipIf(unavailable !== undefined)('the buyer\'s page for a link that no longer works, in a real browser', () => {
  let server: TestServer
  let browser: BrowserContext
  let axeSource: string
  let clients = 0
  const tokens: Record<string, string> = {}

  const open = async (token: string, client = `203.0.113.${++clients}`): Promise<OpenedPage> => {
    // the pages are opened one at a time: each is this client until the next one opens
    await browser.setExtraHTTPHeaders({ 'x-forwarded-for': client })
    return await openPage(browser, `${server.httpUrl}/t/${token}`, { viewport: { width: 390, height: 844 }, expected: EXPECTED_ERRORS })
  }
  const violations = async (page: Page): Promise<string[]> => {
    // evaluated, not added as a script tag: the page's Content-Security-Policy allows no inline script
    await page.evaluate(axeSource)
    const found = await page.evaluate(async () => {
      const { axe } = window as unknown as { axe: { run: (context: object, options: object) => Promise<{ violations: AxeViolation[] }> } }
      return (await axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] })).violations
    })
    return found.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`)
  }

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true })
    axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')
    server = await startTestServer({ env: ENV })
    for (const number of ['TL-OLD', 'TL-LIVE', 'TL-BUSY']) {
      const created = await server.api<{ trackingUrl: string }>('POST', '/api/parcels', { trackingNumber: number, destination: { city: 'Bangkok', country: 'TH' } })
      expect(created.status).toBe(201)
      tokens[number] = new URL(created.body.trackingUrl).pathname.split('/').pop() ?? ''
    }
    // delivered 100 days ago, ten more than TRACKING_LINK_DAYS
    await server.db.pool.query("UPDATE parcels SET ended_at = now() - interval '100 days' WHERE tracking_number = 'TL-OLD'")
    browser = await launchBrowser()
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  it('says kindly that an expired link has expired, in every language, with nothing axe-core objects to', async () => {
    const { page, errors } = await open(tokens['TL-OLD'] ?? '')
    await expect.poll(async () => await page.textContent('#status')).toBe('This tracking link has expired')
    expect(await page.isVisible('#notice')).toBe(true)
    expect(await page.textContent('#notice')).toContain('contact the shop you bought from')
    expect(await page.locator('#timeline li').count()).toBe(0)
    expect(await page.textContent('#tracking-number')).toBe('')
    expect(await violations(page)).toEqual([])
    await page.screenshot({ path: path.join(ARTIFACTS, 'tracking-link-expired.png'), fullPage: true })
    await page.selectOption('#language', 'th')
    expect(await page.textContent('#status')).toBe('ลิงก์ติดตามพัสดุนี้หมดอายุแล้ว')
    expect(await violations(page), 'th').toEqual([])
    await page.selectOption('#language', 'zh')
    expect(await page.textContent('#status')).toBe('此跟踪链接已过期')
    await page.selectOption('#language', 'en')
    expect(errors).toEqual([])
    await page.close()
  })

  it('tells an unknown link apart from one that stopped', async () => {
    const { page, errors } = await open('AAAAAAAAAAAAAAAAAAAAAA')
    await expect.poll(async () => await page.textContent('#status')).toBe('We could not find this parcel. Please check the link.')
    expect(await page.isHidden('#notice')).toBe(true)
    expect(errors).toEqual([])
    await page.close()
  })

  it('turns an open page into "no longer works" when its link is revoked, and says so for a replaced one', async () => {
    const { page, errors } = await open(tokens['TL-LIVE'] ?? '')
    await expect.poll(async () => await page.textContent('#status')).toBe('Shipment information received')
    expect((await server.api('DELETE', '/api/parcels/TL-LIVE/tracking-link')).status).toBe(204)
    await expect.poll(async () => await page.textContent('#status')).toBe('This tracking link no longer works')
    expect(await page.textContent('#notice')).toBe('The sender has switched this link off. Please ask them for a new one.')
    expect(await page.locator('#timeline li').count()).toBe(0)
    expect(await violations(page)).toEqual([])
    expect(errors).toEqual([])
    await page.close()

    const rotated = await server.api<{ trackingUrl: string }>('POST', '/api/parcels/TL-LIVE/tracking-link/rotate')
    expect(rotated.status).toBe(200)
    const replaced = await open(tokens['TL-LIVE'] ?? '')
    await expect.poll(async () => await replaced.page.textContent('#status')).toBe('This tracking link has been replaced')
    await replaced.page.close()
    const fresh = await open(new URL(rotated.body.trackingUrl).pathname.split('/').pop() ?? '')
    await expect.poll(async () => await fresh.page.textContent('#status')).toBe('Shipment information received')
    expect(fresh.errors).toEqual([])
    await fresh.page.close()
  })

  it('asks a client over the rate limit to try again shortly', async () => {
    const client = '203.0.113.250'
    for (let i = 0; i < PER_MINUTE; i++) {
      const response = await fetch(`${server.httpUrl}/api/track/${tokens['TL-BUSY'] ?? ''}`, { headers: { 'x-forwarded-for': client } })
      expect(response.status).toBe(200)
      await response.arrayBuffer()
    }
    const { page, errors } = await open(tokens['TL-BUSY'] ?? '', client)
    await expect.poll(async () => await page.textContent('#status')).toBe('Please try again shortly')
    expect(await page.textContent('#notice')).toContain('wait a minute')
    expect(await violations(page)).toEqual([])
    expect(errors).toEqual([])
    await page.close()
  })
})
