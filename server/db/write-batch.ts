import type pg from 'pg'
import { custodyPart } from './queries/custody.js'
import { antennaStates, newestHealth } from '../tracking/device-health.js'
import { applyAntennaExceptions, upsertDeviceHealth } from './queries/device-health.js'
import { crossingsPart } from './queries/geofences.js'
import { eventsPart } from './queries/insert-events.js'
import { milestonesPart } from './queries/insert-milestones.js'
import { OUTCOME_CODES, rewriteOutcomes } from './queries/outcomes.js'
import { postEntries, selectCodParcels, selectOwing } from './queries/ledger.js'
import { doorEntries, booksDoorCash } from '../ledger/door.js'
import { isReturn, returnEntries } from '../ledger/returns.js'
import { positionsPart } from './queries/insert-positions.js'
import { readsPart } from './queries/insert-reads.js'
import { rejectsPart } from './queries/insert-rejects.js'
import { isUniqueViolation, withTransaction, type Sql } from './sql.js'
import { runParts, type WritePart } from './write-part.js'
import type { MilestoneRow, WriteSet } from '../model.js'

/**
 * Everything a group commit carries is durable together, or none of it: one transaction, with all
 * the rows in one statement (write-part.ts), so that the connection does not wait on a busy event
 * loop between one table's rows and the next. What must read those rows once written (a parcel's
 * outcome reads its milestones; device health and the antenna exceptions it opens; the cash a
 * delivery took, into the ledger) follows in the same transaction, for the few batches that have any.
 *
 * The transaction is explicit, not the statement's own: a statement blocked on a lock when the
 * server dies would still commit once the lock is released, where an open transaction is rolled
 * back with its connection. Either way nothing acknowledged is lost, but the explicit one keeps
 * a dead server from writing after it is gone (test/e2e/durability.test.ts).
 *
 * Positions go in with a plain INSERT; if a redelivered fix the memory no longer held (after a
 * restart) breaks the unique key, the batch is run again skipping duplicates.
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
  const parts = partsOf(set, skipDuplicates)
  const health = set.events.length === 0 ? [] : newestHealth(set.events.map((item) => item.event))
  const outcomes = parcelsWithOutcome(set)
  const atTheDoor = set.milestones.filter(booksDoorCash)
  const returns = set.milestones.filter(isReturn)
  if (parts.length === 0 && health.length === 0) return
  await withTransaction(pool, async (sql) => {
    if (parts.length > 0) await runParts(sql, parts)
    if (health.length > 0) await upsertDeviceHealth(sql, health)
    const antennas = antennaStates(health)
    if (antennas.length > 0) await applyAntennaExceptions(sql, antennas)
    if (outcomes.length > 0) await rewriteOutcomes(sql, outcomes)
    if (atTheDoor.length > 0) await bookDoorCash(sql, atTheDoor)
    if (returns.length > 0) await reverseReturned(sql, returns)
  })
}

function partsOf (set: WriteSet, skipDuplicates: boolean): WritePart[] {
  const parts: WritePart[] = []
  if (set.fixes.length > 0) parts.push(positionsPart(set.fixes, skipDuplicates))
  if (set.scans.length > 0) parts.push(readsPart(set.scans))
  if (set.events.length > 0) parts.push(eventsPart(set.events))
  if (set.milestones.length > 0) parts.push(milestonesPart(set.milestones))
  if (set.custody.length > 0) parts.push(custodyPart(set.custody))
  if (set.crossings.length > 0) parts.push(crossingsPart(set.crossings))
  if (set.rejects.length > 0) parts.push(rejectsPart(set.rejects))
  return parts
}

/** The cash a delivery took, into the ledger with the milestone that says so (ledger/door.ts). */
async function bookDoorCash (sql: Sql, collections: readonly MilestoneRow[]): Promise<void> {
  const parcels = await selectCodParcels(sql, [...new Set(collections.map((row) => row.parcelId))])
  await postEntries(sql, collections.flatMap((row) => {
    const parcel = parcels.get(row.parcelId)
    return parcel === undefined ? [] : doorEntries(row, parcel)
  }))
}

/** A returned parcel's COD still owing is reversed (ledger/returns.ts), after any cash booked in the same batch. */
async function reverseReturned (sql: Sql, returns: readonly MilestoneRow[]): Promise<void> {
  const owing = await selectOwing(sql, [...new Set(returns.map((row) => row.parcelId))])
  if (owing.length > 0) await postEntries(sql, returns.flatMap((row) => returnEntries(row, owing)))
}

function parcelsWithOutcome (set: WriteSet): string[] {
  if (set.milestones.length === 0) return []
  const ids = new Set<string>()
  for (const milestone of set.milestones) if (OUTCOME_CODES.has(milestone.code)) ids.add(milestone.parcelId)
  return [...ids]
}
