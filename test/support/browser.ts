import { existsSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { chromium, type BrowserContext } from 'playwright-core'

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
