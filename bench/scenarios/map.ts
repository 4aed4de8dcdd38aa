import type { Page } from 'playwright-core'
import { buildDashboard } from '../../dashboard/build.js'
import { launchBrowser } from '../../test/support/browser.js'
import { Fleet } from '../lib/fleet.js'
import type { RunPlan } from '../lib/fleet-protocol.js'
import { fleetBox, loadRoute } from '../lib/routes.js'
import { pidsOf, Sampler, type ProcessUsage } from '../lib/sampler.js'
import { BENCH_API_KEY, benchDatabase, DEVICE_SECRET, seedTrackers, startTrackstream } from '../lib/stage.js'

export interface MapOptions {
  devices: number
  hz: number
  durationS: number
}

/** How the page kept up during one phase, measured inside it. */
export interface PagePhase {
  phase: string
  /** vehicles the page holds at the end of the phase, and how many of them are in view */
  vehicles: number
  inView: number
  fps: number
  frameMs: { p50: number, p95: number, p99: number, max: number }
  /** main-thread time in tasks over 50 ms, per second of the phase */
  longTaskMsPerS: number
  usage: Record<string, ProcessUsage>
}

/**
 * Does the ops map lag with thousands of vehicles? Headless Chromium (software WebGL) opens the
 * ops page while the fleet drives; frame rate and long tasks are measured in the page with the
 * fleet still (the baseline) and moving: the whole fleet in view, street level, and zoomed out
 * (clusters).
 */
export async function map (options: MapOptions, log: (line: string) => void): Promise<{ database: string, phases: PagePhase[] }> {
  await buildDashboard()
  const db = await benchDatabase('trackstream_bench_map')
  const browser = await launchBrowser()
  try {
    const ids = await seedTrackers(db, options.devices)
    const target = await startTrackstream(db.url)
    const fleet = await Fleet.connect(target.host, target.mqttPort, ids, DEVICE_SECRET)
    const plan = (seconds: number): RunPlan => ({ durationMs: seconds * 1000, hz: options.hz, qos: 1, fixesPerMessage: 1, format: 'json', window: 8, drainMs: 2000 })
    // every vehicle reports once, so the page starts with the whole fleet on it
    await fleet.run(plan(Math.ceil(2 / options.hz)))

    const page = await browser.newPage()
    await page.goto(`http://127.0.0.1:${target.httpPort}/`)
    await page.fill('#login-password', BENCH_API_KEY)
    await page.click('button[type=submit]')
    await page.waitForFunction('window.trackstream?.map.loaded() === true')
    const [west, south, east, north] = fleetBox(loadRoute())
    const near = async (): Promise<void> => { await view(page, { bounds: [[west, south], [east, north]] }) }
    const street = async (): Promise<void> => { await view(page, { center: [(west + east) / 2, (south + north) / 2], zoom: 17 }) }
    const far = async (): Promise<void> => { await view(page, { center: [(west + east) / 2, (south + north) / 2], zoom: 7 }) }
    const browserPids = (): number[] => pidsOf('chromium')
    const sample = (): Sampler => new Sampler([
      { name: 'chromium', pids: browserPids },
      { name: 'trackstream', pids: () => [target.pid] },
      { name: 'load generator', pids: () => fleet.pids },
      { name: 'postgres', pids: () => pidsOf('postgres') }
    ])

    const phases: PagePhase[] = []
    const measure = async (phase: string, moving: boolean): Promise<void> => {
      const sampler = sample()
      sampler.start()
      const running = moving ? fleet.run(plan(options.durationS)) : new Promise((resolve) => setTimeout(resolve, options.durationS * 1000))
      const inPage = await page.evaluate(`(${MEASURE_FRAMES})(${options.durationS * 1000})`) as Omit<PagePhase, 'phase' | 'usage'>
      await running
      phases.push({ phase, ...inPage, usage: sampler.stop() })
      log(`${phase}: ${inPage.fps} fps, frame p99 ${inPage.frameMs.p99} ms, ${inPage.vehicles} vehicles, ${inPage.inView} in view`)
    }
    await near()
    await measure('the whole fleet in view, still (baseline)', false)
    await measure('the whole fleet in view, moving (markers jump, one redraw a second)', true)
    await street()
    // the renderer's own cost: software WebGL redrawing the street view every frame, nothing moving
    await page.evaluate('window.trackstream.map.repaint = true')
    await measure('a street (zoom 17), still, redrawn every frame (the renderer alone)', false)
    await page.evaluate('window.trackstream.map.repaint = false')
    await measure('a street (zoom 17), moving (markers glide when 300 or fewer are in view)', true)
    await far()
    await measure('zoomed out, moving (clusters)', true)

    await page.close()
    fleet.close()
    await target.stop()
    return { database: db.server, phases }
  } finally {
    await browser.close()
    await db.drop()
  }
}

async function view (page: Page, to: { bounds: [[number, number], [number, number]] } | { center: [number, number], zoom: number }): Promise<void> {
  const call = 'bounds' in to ? `fitBounds(${JSON.stringify(to.bounds)}, { animate: false })` : `jumpTo(${JSON.stringify(to)})`
  await page.evaluate(`window.trackstream.map.${call}`)
  await new Promise((resolve) => setTimeout(resolve, 3000))
}

/**
 * Runs in the page: requestAnimationFrame intervals and long tasks over `ms`. Kept as source text
 * because tsx names functions with a helper the page does not have.
 */
const MEASURE_FRAMES = `async (ms) => {
  const intervals = []
  let longTaskMs = 0
  const observer = new PerformanceObserver((list) => { for (const entry of list.getEntries()) longTaskMs += entry.duration })
  observer.observe({ type: 'longtask', buffered: false })
  const start = performance.now()
  await new Promise((resolve) => {
    let last = start
    const frame = (now) => {
      intervals.push(now - last)
      last = now
      if (now - start < ms) requestAnimationFrame(frame)
      else resolve()
    }
    requestAnimationFrame(frame)
  })
  observer.disconnect()
  const sorted = [...intervals].sort((a, b) => a - b)
  const at = (q) => Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) * 10) / 10
  const elapsedS = (performance.now() - start) / 1000
  return {
    vehicles: window.trackstream.positions.size,
    inView: [...window.trackstream.positions.values()].filter((p) => window.trackstream.map.getBounds().contains([p.lon, p.lat])).length,
    fps: Math.round(intervals.length / elapsedS * 10) / 10,
    frameMs: { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: at(1) },
    longTaskMsPerS: Math.round(longTaskMs / elapsedS)
  }
}`
