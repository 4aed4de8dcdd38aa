import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { crc32, deflateSync } from 'node:zlib'
import type { BrowserContext } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { browserUnavailable, launchBrowser, openPage } from '../support/browser.js'
import { startTestServer, TEST_API_KEY, type TestServer } from '../support/server.js'

const unavailable = browserUnavailable()
if (unavailable !== undefined && process.env.CI !== undefined) throw new Error(unavailable)
if (unavailable !== undefined) console.warn(`basemap browser test skipped: ${unavailable}`)

/** A plain grey 256×256 PNG: what the tile server draws is not the point, that the map asks it is. */
function greyTile (): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
    const length = Buffer.alloc(4)
    length.writeUInt32BE(data.length)
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(body))
    return Buffer.concat([length, body, crc])
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(256, 0)
  header.writeUInt32BE(256, 4)
  header.set([8, 0, 0, 0, 0], 8) // 8-bit greyscale
  const rows = Buffer.alloc(256 * 257, 0xc8)
  for (let row = 0; row < 256; row++) rows[row * 257] = 0 // each row starts with filter type 0
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))])
}
const TILE = greyTile()

describe.skipIf(unavailable !== undefined)('a configured tile server for the basemap', () => {
  let tiles: Server
  const requested: string[] = []
  let server: TestServer
  let browser: BrowserContext

  beforeAll(async () => {
    tiles = createServer((request, response) => {
      requested.push(request.url ?? '')
      response.writeHead(200, { 'content-type': 'image/png', 'access-control-allow-origin': '*' }).end(TILE)
    })
    await new Promise<void>((resolve) => { tiles.listen(0, '127.0.0.1', resolve) })
    const { port } = tiles.address() as AddressInfo
    server = await startTestServer({ env: { BASEMAP_TILE_URL: `http://127.0.0.1:${port}/{z}/{x}/{y}.png`, BASEMAP_ATTRIBUTION: '© Test Tiles' } })
    browser = await launchBrowser()
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
    await new Promise((resolve) => { tiles?.close(resolve) })
  })

  it('draws the ops map from BASEMAP_TILE_URL, credited with BASEMAP_ATTRIBUTION, instead of the offline basemap', async () => {
    const offline: string[] = []
    const { page, errors } = await openPage(browser, server.httpUrl, { watch: (p) => { p.on('request', (request) => { if (request.url().includes('/basemap/')) offline.push(request.url()) }) } })
    await page.fill('#login-password', TEST_API_KEY)
    await page.click('button[type=submit]')
    await page.waitForFunction(() => (window as unknown as { trackstream?: { map: { loaded: () => boolean } } }).trackstream?.map.loaded() === true)
    await expect.poll(() => requested.filter((url) => /^\/\d+\/\d+\/\d+\.png$/.test(url)).length, { timeout: 10_000 }).toBeGreaterThan(0)
    expect(await page.textContent('.maplibregl-ctrl-attrib')).toContain('© Test Tiles')
    expect(offline).toEqual([])
    expect(errors).toEqual([])
    await page.close()
  })
})
