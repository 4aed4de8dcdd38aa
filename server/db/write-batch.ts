import type pg from 'pg'
import { upsertCustody } from './queries/custody.js'
import { antennaStates, newestHealth } from '../tracking/device-health.js'
import { applyAntennaExceptions, upsertDeviceHealth } from './queries/device-health.js'
import { upsertCrossings } from './queries/geofences.js'
import { insertEvents } from './queries/insert-events.js'
import { insertMilestones } from './queries/insert-milestones.js'
import { OUTCOME_CODES, rewriteOutcomes } from './queries/outcomes.js'
import { insertPositions } from './queries/insert-positions.js'
import { insertReads } from './queries/insert-reads.js'
import { insertRejects } from './queries/insert-rejects.js'
import { isUniqueViolation, withTransaction } from './sql.js'
import type { WriteSet } from '../model.js'

/**
 * One transaction for everything a group commit carries: all of it is durable, or none.
 * Positions go in with a plain INSERT; if a redelivered fix the memory no longer held (after a
 * restart) breaks the unique key, the transaction is rolled back and run again skipping duplicates.
 */
export async function writeBatch (pool: pg.Pool, set: WriteSet): Promise<void> {
  try {
    await writeOnce(pool, set, false)
  } catch (error) {
    if (!isUniqueViolation(error)) throw error
    await writeOnce(pool, set, true)
  }
}

async function writeOnce (pool: pg.Pool, set: WriteSet, skipDuplicates: boolean): Promise<void> {
  await withTransaction(pool, async (sql) => {
    if (set.fixes.length > 0) await insertPositions(sql, set.fixes, skipDuplicates)
    if (set.scans.length > 0) await insertReads(sql, set.scans)
    if (set.events.length > 0) await insertEvents(sql, set.events)
    const health = set.events.length === 0 ? [] : newestHealth(set.events.map((item) => item.event))
    if (health.length > 0) await upsertDeviceHealth(sql, health)
    const antennas = antennaStates(health)
    if (antennas.length > 0) await applyAntennaExceptions(sql, antennas)
    // the rows other batches also change (a parcel's status, custody, a fence's crossing) come
    // last, so that their locks, which a concurrent batch waits on, are held only until the commit
    if (set.milestones.length > 0) await insertMilestones(sql, set.milestones)
    if (set.custody.length > 0) await upsertCustody(sql, set.custody)
    const outcomes = parcelsWithOutcome(set)
    if (outcomes.length > 0) await rewriteOutcomes(sql, outcomes)
    if (set.crossings.length > 0) await upsertCrossings(sql, set.crossings)
    if (set.rejects.length > 0) await insertRejects(sql, set.rejects)
  })
}

function parcelsWithOutcome (set: WriteSet): string[] {
  if (set.milestones.length === 0) return []
  const ids = new Set<string>()
  for (const milestone of set.milestones) if (OUTCOME_CODES.has(milestone.code)) ids.add(milestone.parcelId)
  return [...ids]
}
