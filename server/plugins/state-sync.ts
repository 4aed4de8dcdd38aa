import { randomUUID } from 'node:crypto'
import fp from 'fastify-plugin'
import { Counter } from 'prom-client'
import { selectCustodyAboard, selectCustodyOf } from '../db/queries/custody.js'
import type { CustodyRow, MilestoneRow } from '../model.js'
import { idOf } from '../tracking/custody.js'
import { RecurringProblem } from '../util/recurring-problem.js'

const CHANNEL = 'trackstream:state'

/** What one instance committed that the others' working copies must follow. */
type Committed = { kind: 'custody', rows: CustodyRow[] } | { kind: 'milestones', rows: MilestoneRow[] }

/**
 * Cluster mode: what rides in what, and where each parcel is, are the same on every instance. Each
 * instance holds custody and the parcels' tracks in memory for the hot path (a vehicle's fix
 * crossing a geofence gives every parcel aboard its milestone) and for the exception rules, so
 * what one instance commits (its dock reader loaded a van, a parcel arrived) is told to the others
 * on a Redis channel. Each applies a move where it is newer than what it knows, reading from the
 * database a parcel it has not met yet, and puts a milestone on the track of a parcel it holds. The database stays the truth: this only keeps the others'
 * working copies current. Moves told while Redis was away are read back from the database when
 * it returns.
 */
export default fp(async (app) => {
  const { redis, engine } = app
  if (redis === null) return
  const self = randomUUID()
  const publisher = redis.connect('state-out', { enableOfflineQueue: false })
  const subscriber = redis.connect('state-in')
  const told = new Counter({
    name: 'trackstream_state_sync_total',
    help: 'Custody moves and milestones told to the other instances (out), applied from them (in), or lost on the way (lost_out, lost_in), cluster mode',
    labelNames: ['kind', 'outcome'],
    registers: [app.metrics]
  })
  const problem = new RecurringProblem(app.log, 'telling the other instances what was committed')

  const applyCustody = async (rows: CustodyRow[]): Promise<void> => {
    // a parcel registered through another instance is read once from the database, with where it rides
    const unknown = rows.filter((row) => row.item.startsWith('parcel:')).map((row) => idOf(row.item))
      .filter((id) => engine.store.parcels.get(id) === undefined)
    for (const id of new Set(unknown)) await app.findParcel(id)
    engine.custodyCommittedElsewhere(rows)
    told.inc({ kind: 'custody', outcome: 'in' }, rows.length)
  }
  const apply = async (committed: Committed): Promise<void> => {
    if (committed.kind === 'custody') {
      await applyCustody(committed.rows)
      return
    }
    engine.milestonesCommittedElsewhere(committed.rows)
    told.inc({ kind: 'milestones', outcome: 'in' }, committed.rows.length)
  }

  // custody first: one commit's moves and milestones reach the others in that order
  const tell = (committed: Committed): void => {
    publisher.publish(CHANNEL, `${self} ${JSON.stringify(committed)}`).then(() => {
      told.inc({ kind: committed.kind, outcome: 'out' }, committed.rows.length)
      problem.succeeded()
    }, (error: unknown) => {
      told.inc({ kind: committed.kind, outcome: 'lost_out' }, committed.rows.length)
      problem.failed(error)
    })
  }
  const unsubscribers = [
    app.events.on('custodyCommitted', (rows) => { tell({ kind: 'custody', rows: [...rows] }) }),
    app.events.on('committed', (rows) => { tell({ kind: 'milestones', rows: [...rows] }) })
  ]
  // one at a time, in the order told: each may wait for a parcel read from the database
  let applying = Promise.resolve()
  subscriber.on('message', (channel: string, message: string) => {
    if (channel !== CHANNEL) return
    const split = message.indexOf(' ')
    if (message.slice(0, split) === self) return
    applying = applying.then(async () => { await apply(JSON.parse(message.slice(split + 1)) as Committed) }).catch((error: unknown) => {
      told.inc({ kind: 'unknown', outcome: 'lost_in' })
      app.log.warn({ reason: (error as Error).message }, 'could not apply what another instance committed')
    })
  })
  // what was told while this instance could not hear: after a reconnect, its copy is checked
  // against the database, for everything aboard there and everything aboard here
  const reconcile = async (): Promise<void> => {
    const aboard = await selectCustodyAboard(app.db.sql)
    const listed = new Set(aboard.map((row) => row.item))
    const rest = await selectCustodyOf(app.db.sql, engine.store.custody.itemsAboard().filter((item) => !listed.has(item)))
    await applyCustody([...aboard, ...rest])
    app.log.info({ items: aboard.length + rest.length }, 'custody checked against the database after Redis came back')
  }
  let heard = false
  subscriber.on('ready', () => {
    if (!heard) {
      heard = true
      return
    }
    applying = applying.then(reconcile).catch((error: unknown) => {
      app.log.warn({ reason: (error as Error).message }, 'could not check custody against the database after Redis came back')
    })
  })
  app.addHook('onReady', async () => {
    subscriber.subscribe(CHANNEL).catch((error: unknown) => { problem.failed(error) })
  })
  app.addHook('preClose', async () => {
    for (const unsubscribe of unsubscribers) unsubscribe()
    await applying
  })
}, { name: 'trackstream-state-sync', dependencies: ['trackstream-engine', 'trackstream-pipeline', 'trackstream-redis', 'trackstream-metrics'] })
