import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ARTIFACTS, browserUnavailable, launchBrowser, openPage } from '../support/browser.js'
import { startTestServer, type TestServer } from '../support/server.js'

const unavailable = browserUnavailable()
// CI installs Chromium, so there a missing browser is a failure, not a skip
if (unavailable !== undefined && process.env.CI !== undefined) throw new Error(unavailable)
if (unavailable !== undefined) console.warn(`browser tests skipped: ${unavailable}`)

const PASSWORD = 'a long enough passphrase'

describe.skipIf(unavailable !== undefined)('the ops page shows each role what it may see, in a real browser', () => {
  let server: TestServer
  let elsewhere: http.Server
  let elsewhereUrl: string
  const browsers: BrowserContext[] = []

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true })
    server = await startTestServer()
    for (const merchant of ['acme', 'globex']) expect((await server.api('POST', '/api/merchants', { id: merchant, name: merchant })).status).toBe(201)
    for (const [email, role, merchantId] of [['dispatch@ops.example', 'dispatcher'], ['cash@ops.example', 'finance'], ['shop@acme.example', 'merchant', 'acme']]) {
      expect((await server.api('POST', '/api/users', { email, password: PASSWORD, role, ...(merchantId === undefined ? {} : { merchantId }) })).status).toBe(201)
    }
    for (const [trackingNumber, merchantId] of [['ACME-1001', 'acme'], ['ACME-1002', 'acme'], ['ACME-GLX-1', 'globex']]) {
      expect((await server.api('POST', '/api/parcels', { trackingNumber, merchantId, destination: { city: 'Bangkok', country: 'TH' }, cashOnDelivery: { amount: 450, currency: 'THB' } })).status).toBe(201)
    }
    expect((await server.api('POST', '/api/parcels/ACME-1001/milestones', { code: 'delivered', cod: { amount: '450', currency: 'THB' } })).status).toBe(201)
    // globex's parcel, paid 50 short at the door
    expect((await server.api('POST', '/api/parcels/ACME-GLX-1/milestones', { code: 'delivered', cod: { amount: '400', currency: 'THB' } })).status).toBe(201)
    // another origin on the same site (another port of 127.0.0.1): it shares the browser's cookie
    elsewhere = http.createServer((_request, response) => { response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>elsewhere</title>') })
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve))
    elsewhereUrl = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}`
  }, 120_000)

  afterAll(async () => {
    await Promise.all(browsers.map(async (browser) => { await browser.close() }))
    await new Promise((resolve) => elsewhere?.close(resolve))
    await server?.close()
  })

  /** A fresh browser, logged in on the ops page as this user. */
  const logIn = async (email: string): Promise<{ page: Page, errors: string[], browser: BrowserContext }> => {
    const browser = await launchBrowser()
    browsers.push(browser)
    const { page, errors } = await openPage(browser, `${server.httpUrl}/`)
    await page.waitForSelector('#login:not([hidden])')
    await page.fill('#login-email', email)
    await page.fill('#login-password', PASSWORD)
    await page.click('button[type=submit]')
    await page.waitForSelector('#app:not([hidden])')
    await page.waitForFunction(() => (window as unknown as { trackstream?: { map: { loaded: () => boolean } } }).trackstream?.map.loaded() === true, undefined, { timeout: 15_000 })
    return { page, errors, browser }
  }

  it('shows a dispatcher the fleet and not the finance panel', async () => {
    const { page, errors } = await logIn('dispatch@ops.example')
    expect(await page.textContent('#whoami-name')).toBe('user:dispatch@ops.example (dispatcher)')
    expect(await page.isVisible('#vehicles-panel')).toBe(true)
    expect(await page.isVisible('#devices-panel')).toBe(true)
    expect(await page.isVisible('#finance-panel')).toBe(false)
    expect(await page.isVisible('#parcels-panel')).toBe(false)
    await page.screenshot({ path: path.join(ARTIFACTS, 'ops-dispatcher.png') })
    expect(errors).toEqual([])
  })

  it('shows finance the cash on delivery, and neither the fleet nor the devices', async () => {
    const { page, errors } = await logIn('cash@ops.example')
    await expect.poll(async () => await page.textContent('#finance-table tbody'), { timeout: 10_000 }).toBe('THB2900.00850.0050.00')
    // the Cash panel: the cash collected, still with whoever took it, and the short payment
    await expect.poll(async () => await page.$$eval('#cash-table tbody tr', (rows) => rows.map((row) => row.textContent)), { timeout: 10_000 })
      .toEqual(expect.arrayContaining(['With driverunassigned850.00 THBunder 1 h', 'Owed to merchantacme-450.00 THBunder 1 h', 'Owed by buyers–50.00 THBunder 1 h']))
    expect(await page.textContent('#discrepancy-list')).toBe('ACME-GLX-1: paid short by 50.00 THB')
    expect(await page.isVisible('#vehicles-panel')).toBe(false)
    expect(await page.isVisible('#devices-panel')).toBe(false)
    expect(errors).toEqual([])
  })

  it('shows a merchant\'s user its own parcels only, in the list and in search', async () => {
    const { page, errors } = await logIn('shop@acme.example')
    expect(await page.isVisible('#vehicles-panel')).toBe(false)
    expect(await page.isVisible('#parcels-panel')).toBe(true)
    await expect.poll(async () => await page.$$eval('#parcel-list li', (items) => items.map((li) => (li as HTMLElement).dataset.trackingNumber))).toEqual(['ACME-1002'])
    await page.fill('#search', 'ACME-')
    // globex's ACME-GLX-1 starts with the same letters: it must not be among them
    await expect.poll(async () => (await page.$$eval('#search-results button', (buttons) => buttons.map((b) => /ACME-[A-Z0-9]+(-\d+)?/.exec(b.textContent ?? '')?.[0]))).sort(), { timeout: 5000 })
      .toEqual(['ACME-1001', 'ACME-1002'])
    await page.screenshot({ path: path.join(ARTIFACTS, 'ops-merchant.png') })
    expect(errors).toEqual([])
  })

  it('does not open /ws/live for a page of another origin, though the browser holds the session cookie', async () => {
    const { page, browser } = await logIn('dispatch@ops.example')
    const own = await page.evaluate(async () => await new Promise((resolve) => {
      const socket = new WebSocket(`ws://${window.location.host}/ws/live`)
      socket.onopen = () => { socket.close(); resolve('open') }
      socket.onerror = () => { resolve('refused') }
    }))
    expect(own).toBe('open')
    const { page: foreign } = await openPage(browser, elsewhereUrl, { expected: /ws\/live/ })
    const wsUrl = server.wsUrl
    const answer = await foreign.evaluate(async (url) => await new Promise((resolve) => {
      const socket = new WebSocket(`${url}/ws/live`)
      socket.onopen = () => { resolve('open') }
      socket.onerror = () => { resolve('refused') }
    }), wsUrl)
    expect(answer).toBe('refused')
  })
})
