import fp from 'fastify-plugin'
import { selectDeviceStats, upsertDeviceStats } from '../db/queries/device-stats.js'

const SAVE_EVERY_MS = 5000

/** Keeps per-device counters across restarts: restored at start, saved every few seconds and at close. */
export default fp(async (app) => {
  for (const [deviceId, counters] of await selectDeviceStats(app.db.sql)) app.stats.restore(deviceId, counters)
  const save = async (): Promise<void> => {
    const changed = app.stats.takeDirty()
    if (changed.length === 0) return
    try {
      await upsertDeviceStats(app.db.sql, changed)
    } catch (error) {
      // counters are a convenience: losing a few seconds of them when the database is away is acceptable
      app.log.debug({ reason: (error as Error).message }, 'could not save device counters; will retry')
      for (const [deviceId] of changed) app.stats.markDirty(deviceId)
    }
  }
  const timer = setInterval(() => { void save() }, SAVE_EVERY_MS).unref()
  app.addHook('onClose', async () => {
    clearInterval(timer)
    await save()
  })
}, { name: 'trackstream-device-stats', dependencies: ['trackstream-pipeline'] })
