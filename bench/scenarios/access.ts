import { BENCH_API_KEY, benchDatabase, startTrackstream } from '../lib/stage.js'
import { load, seedParcels, type RestOptions, type RestRun } from './rest.js'

/** Counts every request and refuses none: the limiter's work without its answer. */
const NEVER_REACHED = '100000000'

/**
 * What the doors cost (issue 14): the buyer's tracking endpoint and an ops read with the rate
 * limiters off, then on, in one run on one database; and the ops read with an API key, which is
 * looked up in PostgreSQL on every request, against the installation key, which is not.
 */
export async function access (options: RestOptions, log: (line: string) => void): Promise<{ database: string, runs: RestRun[] }> {
  const runs: RestRun[] = []
  const db = await benchDatabase('trackstream_bench_access')
  try {
    const parcels = await seedParcels(db.pool, options.parcels)
    const tracking = parcels.map((p) => `/api/track/${p.token}`)
    const timeline = parcels.map((p) => `/api/parcels/${p.id}/timeline`)
    const installation = { authorization: `Bearer ${BENCH_API_KEY}` }
    for (const [doors, env] of [['off', { TRACKING_RATE_PER_MINUTE: '0', API_RATE_PER_MINUTE: '0' }], ['on', { TRACKING_RATE_PER_MINUTE: NEVER_REACHED, API_RATE_PER_MINUTE: NEVER_REACHED }]] as const) {
      const target = await startTrackstream(db.url, env)
      const base = `http://127.0.0.1:${target.httpPort}`
      runs.push(await load(`public tracking, limiter ${doors}`, target.pid, base, tracking, {}, options))
      log(`public tracking, limiter ${doors}: ${runs.at(-1)?.requestsPerS} req/s`)
      runs.push(await load(`ops timeline, installation key, limiter ${doors}`, target.pid, base, timeline, installation, options))
      log(`ops timeline, installation key, limiter ${doors}: ${runs.at(-1)?.requestsPerS} req/s`)
      if (doors === 'on') {
        const response = await fetch(`${base}/api/keys`, {
          method: 'POST',
          headers: { ...installation, 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'bench', scopes: ['parcels:read'] })
        })
        const { key } = await response.json() as { key: string }
        runs.push(await load('ops timeline, API key, limiter on', target.pid, base, timeline, { authorization: `Bearer ${key}` }, options))
        log(`ops timeline, API key: ${runs.at(-1)?.requestsPerS} req/s`)
      }
      await target.stop()
    }
    return { database: db.server, runs }
  } finally {
    await db.drop()
  }
}
