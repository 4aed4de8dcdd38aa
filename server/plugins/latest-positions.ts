import fp from 'fastify-plugin'
import { upsertLatest } from '../db/queries/upsert-latest.js'
import type { LivePosition } from '../model.js'

const SAVE_EVERY_MS = 2000

/**
 * device_latest, each device's newest committed position, is the live map's starting point and the
 * pipeline's memory after a restart. The positions themselves are durable with every commit; this
 * summary is saved every two seconds, off the hot transaction, where it cost a third of each commit.
 */
export default fp(async (app) => {
  const pending = new Map<string, LivePosition>()
  const unsubscribe = app.events.on('positions', (positions) => {
    for (const position of positions) {
      const known = pending.get(position.deviceId)
      if (known === undefined || known.time < position.time) pending.set(position.deviceId, position)
    }
  })
  const save = async (): Promise<void> => {
    if (pending.size === 0) return
    const batch = [...pending.values()]
    pending.clear()
    try {
      await upsertLatest(app.db.sql, batch)
    } catch (error) {
      app.log.debug({ reason: (error as Error).message }, 'could not save latest positions; will retry')
      for (const position of batch) if ((pending.get(position.deviceId)?.time ?? -Infinity) < position.time) pending.set(position.deviceId, position)
    }
  }
  const timer = setInterval(() => { void save() }, SAVE_EVERY_MS).unref()
  app.addHook('onClose', async () => {
    clearInterval(timer)
    unsubscribe()
    await save()
  })
}, { name: 'trackstream-latest-positions', dependencies: ['trackstream-pipeline'] })
