import path from 'node:path'
import { mkdir } from 'node:fs/promises'
import type { MqttClient } from 'mqtt'
import type { BrowserContext } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceTopic } from '../../proto/topics.js'
import { ARTIFACTS, browserUnavailable, launchBrowser, openPage, type OpenedPage } from '../support/browser.js'
import { connectDevice, publish } from '../support/clients.js'
import { startTestServer, TEST_API_KEY, type TestServer } from '../support/server.js'
import { TcpProxy } from '../support/tcp-proxy.js'

const unavailable = browserUnavailable()
if (unavailable !== undefined && process.env.CI !== undefined) throw new Error(unavailable)
if (unavailable !== undefined) console.warn(`reconnect browser test skipped: ${unavailable}`)

/** Chromium reports each refused WebSocket attempt on the console; those are expected while the link is cut. */
const refusedSocket = /WebSocket connection to .* failed/

describe.skipIf(unavailable !== undefined)('the pages ride out a dropped connection without a reload', () => {
  let server: TestServer
  let proxy: TcpProxy
  let browser: BrowserContext
  let van: MqttClient
  let token: string
  let base: string

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true })
    server = await startTestServer()
    const { secret } = await server.registerDevice('van-r1')
    await server.api('POST', '/api/vehicles', { id: 'VR1', name: 'Van R1', deviceId: 'van-r1' })
    const parcel = await server.api<{ trackingUrl: string }>('POST', '/api/parcels', { trackingNumber: 'TSR0001', destination: { city: 'Hanoi', country: 'VN' } })
    token = parcel.body.trackingUrl.split('/t/')[1] ?? ''
    van = await connectDevice(server.mqttUrl, 'van-r1', secret)
    await publish(van, deviceTopic('van-r1', 'fix'), JSON.stringify({ time: Date.now() - 10_000, lat: 21.03, lon: 105.85 }))
    proxy = new TcpProxy('127.0.0.1', Number(new URL(server.httpUrl).port))
    base = `http://127.0.0.1:${await proxy.start()}`
    browser = await launchBrowser()
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await proxy?.stop()
    await van?.endAsync()
    await server?.close()
  })

  const open = async (route: string): Promise<OpenedPage> => await openPage(browser, `${base}${route}`, { expected: refusedSocket })

  it('gives the buyer what happened while the link was down, from the fresh snapshot', async () => {
    const { page, errors } = await open(`/t/${token}`)
    await expect.poll(async () => await page.locator('#timeline li').count(), { timeout: 10_000 }).toBe(1)
    // a milestone arriving live proves the socket is up before the link is cut
    expect((await server.api('POST', '/api/parcels/TSR0001/milestones', { code: 'arrived_at_facility' })).status).toBe(201)
    await expect.poll(async () => await page.locator('#timeline li').count(), { timeout: 10_000 }).toBe(2)
    await proxy.cut()
    // recorded while the buyer's socket is down: no frame can carry it
    expect((await server.api('POST', '/api/parcels/TSR0001/milestones', { code: 'departed_facility' })).status).toBe(201)
    await new Promise((resolve) => setTimeout(resolve, 1500))
    expect(await page.locator('#timeline li').count()).toBe(2)
    await proxy.restore()
    await expect.poll(async () => await page.locator('#timeline li').count(), { timeout: 20_000 }).toBe(3)
    expect(await page.textContent('#status')).toBe('Departed facility')
    expect(errors).toEqual([])
    await page.close()
  })

  it('shows the ops desk that it is reconnecting, then where the vehicle went meanwhile', async () => {
    const { page, errors } = await open('/')
    await page.fill('#login-password', TEST_API_KEY)
    await page.click('button[type=submit]')
    await page.waitForSelector('#connection[data-connected="true"]')
    await expect.poll(async () => await page.evaluate(() => (window as unknown as { trackstream: { positions: Map<string, { lat: number }> } }).trackstream.positions.get('van-r1')?.lat), { timeout: 10_000 }).toBe(21.03)
    await proxy.cut()
    await page.waitForSelector('#connection[data-connected="false"]')
    expect(await page.textContent('#connection')).toBe('reconnecting…')
    await page.screenshot({ path: path.join(ARTIFACTS, 'ops-reconnecting.png') })
    await publish(van, deviceTopic('van-r1', 'fix'), JSON.stringify({ time: Date.now() - 1000, lat: 21.2, lon: 105.8 }))
    await new Promise((resolve) => setTimeout(resolve, 1000))
    await proxy.restore()
    await page.waitForSelector('#connection[data-connected="true"]', { timeout: 20_000 })
    await expect.poll(async () => await page.evaluate(() => (window as unknown as { trackstream: { positions: Map<string, { lat: number }> } }).trackstream.positions.get('van-r1')?.lat), { timeout: 10_000 }).toBe(21.2)
    expect(errors).toEqual([])
    await page.close()
  })
})
