import { existsSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'

const CHROMIUM = '/usr/bin/chromium'

/** Why browser tests cannot run here, or undefined when they can. */
export function browserUnavailable (): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing: install it with "apt-get install -y chromium" (.ci/run does)`
}

/** Debian's headless Chromium in a fresh profile, with nothing reaching out to the network. */
export async function launchBrowser (): Promise<BrowserContext> {
  return await chromium.launchPersistentContext(await mkdtemp(path.join(os.tmpdir(), 'trackstream-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--use-angle=swiftshader', '--enable-unsafe-swiftshader']
  })
}

export const ARTIFACTS = path.resolve('test-artifacts')

export interface OpenedPage { page: Page, errors: string[] }

export interface OpenOptions {
  viewport?: { width: number, height: number }
  /** console errors that are expected (a refused WebSocket while a test cuts the link) */
  expected?: RegExp
  /** runs before the page loads, to listen to its requests */
  watch?: (page: Page) => void
}

/** A new page at `url`, keeping every error its console reports, so a test can insist on none. */
export async function openPage (browser: BrowserContext, url: string, options: OpenOptions = {}): Promise<OpenedPage> {
  const page = await browser.newPage()
  if (options.viewport !== undefined) await page.setViewportSize(options.viewport)
  const errors: string[] = []
  page.on('console', (message) => { if (message.type() === 'error' && options.expected?.test(message.text()) !== true) errors.push(message.text()) })
  page.on('pageerror', (error) => { errors.push(error.message) })
  options.watch?.(page)
  await page.goto(url)
  return { page, errors }
}
