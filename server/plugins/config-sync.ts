import { randomUUID } from 'node:crypto'
import fp from 'fastify-plugin'
import type pg from 'pg'
import { Counter } from 'prom-client'
import { selectContainers } from '../db/queries/containers.js'
import { selectDevices } from '../db/queries/devices.js'
import { selectGeofences } from '../db/queries/geofences.js'
import { selectReaders } from '../db/queries/readers.js'
import { selectStations } from '../db/queries/stations.js'
import { selectVehicles } from '../db/queries/vehicles.js'
import type { ConfigKind, Engine } from '../engine/engine.js'
import type { Sql } from '../db/sql.js'

const CHANNEL = 'trackstream_config'
const KINDS: readonly ConfigKind[] = ['device', 'station', 'reader', 'vehicle', 'container', 'geofence']
/** Changes that come in a burst (a fleet registered by script) are read back once. */
const COALESCE_MS = 50
const RELISTEN_MS = 1000

declare module 'fastify' {
  interface FastifyInstance {
    configSync: {
      /** Reads these tables again now (coalesced with other calls): for a device unknown here that another instance may just have registered. */
      refresh: (kinds: Iterable<ConfigKind>) => Promise<void>
    }
  }
}

export interface ConfigSyncOptions {
  /** Drops a device's connections to this instance, for one disabled or given a new secret elsewhere. */
  disconnect: (deviceId: string) => void
}

/**
 * The configuration tables (devices, readers, vehicles, …) are held whole by every instance. When
 * one instance's API changes them, it says so on a PostgreSQL channel (NOTIFY, sent after the
 * change is committed), and every other instance on the database reads that table again. So a
 * device registered through instance A is known to instance B before its first message, and one
 * disabled on A is disconnected from B. No Redis needed: the database already is the truth.
 */
export default fp<ConfigSyncOptions>(async (app, { disconnect }) => {
  const { engine } = app
  const self = randomUUID()
  const reloads = new Counter({
    name: 'trackstream_config_reloads_total',
    help: 'Configuration tables read again after another instance changed them, by table',
    labelNames: ['kind'],
    registers: [app.metrics]
  })
  let closing = false
  let listener: { client: pg.PoolClient, release: (broken: boolean) => void } | undefined
  const due = new Set<ConfigKind>()
  let timer: NodeJS.Timeout | undefined
  let next: Promise<void> | undefined
  let wake: () => void = () => {}

  const reloadDue = async (): Promise<void> => {
    timer = undefined
    next = undefined
    const done = wake
    const kinds = [...due]
    due.clear()
    for (const kind of kinds) {
      try {
        await reload(app.db.sql, engine, kind, disconnect)
        reloads.inc({ kind })
      } catch (error) {
        // the next change, or the next listen after a lost connection, reads it again
        app.log.warn({ kind, reason: (error as Error).message }, 'could not read back a configuration table another instance changed')
      }
    }
    done()
  }
  /** Resolves once the kinds have been read again (or failed to be, which is logged). */
  const schedule = async (kinds: Iterable<ConfigKind>): Promise<void> => {
    for (const kind of kinds) due.add(kind)
    next ??= new Promise<void>((resolve) => { wake = resolve })
    timer ??= setTimeout(() => { void reloadDue() }, COALESCE_MS)
    await next
  }
  app.decorate('configSync', { refresh: schedule })

  const listen = async (): Promise<void> => {
    if (closing) return
    try {
      const client = await app.db.pool.connect()
      // released once, whichever comes first: its error, a failed LISTEN, or closing (a second
      // release throws, and from an 'error' event that would end the process)
      let released = false
      const release = (broken: boolean): void => {
        if (released) return
        released = true
        if (listener?.client === client) listener = undefined
        client.release(broken)
      }
      client.on('notification', (message) => {
        const [from, kind] = (message.payload ?? '').split(' ')
        if (from !== self && KINDS.includes(kind as ConfigKind)) void schedule([kind as ConfigKind])
      })
      client.on('error', () => {
        if (released) return
        release(true)
        setTimeout(() => { void listen() }, RELISTEN_MS).unref()
      })
      try {
        await client.query(`LISTEN ${CHANNEL}`)
      } catch (error) {
        release(true)
        throw error
      }
      listener = { client, release }
      // whatever changed while nobody listened (at start, or while the connection was down)
      void schedule(KINDS)
    } catch (error) {
      app.log.warn({ reason: (error as Error).message }, 'could not listen for configuration changes; trying again')
      setTimeout(() => { void listen() }, RELISTEN_MS).unref()
    }
  }

  engine.onConfigured = (kind) => {
    // the routes change the engine after their write has committed, so the others read it back
    app.db.sql.query('SELECT pg_notify($1, $2)', [CHANNEL, `${self} ${kind}`]).catch((error: unknown) => {
      app.log.warn({ kind, reason: (error as Error).message }, 'could not tell the other instances of a configuration change')
    })
  }
  app.addHook('onReady', listen)
  app.addHook('preClose', async () => {
    closing = true
    clearTimeout(timer)
    wake()
    engine.onConfigured = () => {}
    // destroyed, not pooled: it still LISTENs, and its listeners are ours
    listener?.release(true)
  })
}, { name: 'trackstream-config-sync', dependencies: ['trackstream-engine', 'trackstream-db', 'trackstream-metrics'] })

async function reload (sql: Sql, engine: Engine, kind: ConfigKind, disconnect: (deviceId: string) => void): Promise<void> {
  switch (kind) {
    case 'device': {
      const devices = await selectDevices(sql)
      const dropped = devices.filter((device) => {
        const before = engine.store.config.device(device.id)
        return before !== undefined && (device.disabled || before.secretHash !== device.secretHash)
      })
      engine.reload(() => { for (const device of devices) engine.putDevice(device) })
      for (const device of dropped) disconnect(device.id)
      return
    }
    case 'station': {
      const stations = await selectStations(sql)
      engine.reload(() => { for (const station of stations) engine.putStation(station) })
      return
    }
    case 'reader': {
      const readers = await selectReaders(sql)
      engine.reload(() => { for (const reader of readers) engine.putReader(reader) })
      return
    }
    case 'vehicle': {
      const vehicles = await selectVehicles(sql)
      engine.reload(() => { for (const vehicle of vehicles) engine.putVehicle(vehicle) })
      return
    }
    case 'container': {
      const containers = await selectContainers(sql)
      engine.reload(() => { for (const container of containers) engine.putContainer(container) })
      return
    }
    case 'geofence': {
      const fences = await selectGeofences(sql)
      const kept = new Set(fences.map((fence) => fence.id))
      const gone = [...engine.store.fences.fences()].filter((fence) => !kept.has(fence.id))
      engine.reload(() => {
        for (const fence of fences) engine.putFence(fence)
        for (const fence of gone) engine.removeFence(fence.id)
      })
    }
  }
}
