import type pg from 'pg'
import type { WriteSet } from '../pipeline/write-set.js'
import { insertEvents } from './queries/insert-events.js'
import { insertMilestones } from './queries/insert-milestones.js'
import { insertPositions } from './queries/insert-positions.js'
import { insertReads } from './queries/insert-reads.js'
import { insertRejects } from './queries/insert-rejects.js'
import { withTransaction } from './sql.js'

/** One transaction for everything a group commit carries: all of it is durable, or none. */
export async function writeBatch (pool: pg.Pool, set: WriteSet): Promise<void> {
  await withTransaction(pool, async (sql) => {
    if (set.fixes.length > 0) await insertPositions(sql, set.fixes)
    if (set.scans.length > 0) await insertReads(sql, set.scans)
    if (set.events.length > 0) await insertEvents(sql, set.events)
    if (set.milestones.length > 0) await insertMilestones(sql, set.milestones)
    if (set.rejects.length > 0) await insertRejects(sql, set.rejects)
  })
}
