import type { IngestMessage } from '../../gateway/ingest-message.js'
import { rejection, type Rejection } from '../../gateway/rejects.js'
import type { Engine } from '../engine/engine.js'
import { DUPLICATE, type DriverItem, type EventItem, type FixItem, type ScanItem, type Stage } from './items.js'
import { attachStationAndParcel, attachVehicle, checkAttribution } from './stages/attach.js'
import { dedupeFixes, dedupeScans } from './stages/dedupe.js'
import { dedupeDriverEvents, driverMilestones } from './stages/driver-events.js'
import { geofenceMilestones } from './stages/geofences.js'
import { markLateFixes } from './stages/mark-late.js'
import { scanMilestones } from './stages/scan-milestones.js'
import { smoothReads } from './stages/smooth-reads.js'
import { validateDriverEvent, validateEvent, validateFix, validateScan, type ValidationLimits } from './stages/validate.js'
import type { IngestStats } from './stats.js'
import { emptyWriteSet, type WriteSet } from '../model.js'

export interface PipelineStages {
  fix: Array<Stage<FixItem>>
  scan: Array<Stage<ScanItem>>
  event: Array<Stage<EventItem>>
  driver: Array<Stage<DriverItem>>
}

export interface StageDependencies {
  engine: Engine
  limits: ValidationLimits
  gs1KeyOf: (epc: string) => string | null
}

/**
 * The stages, in order. Each does one job; those that change tracking state ask the engine to.
 * Later features add theirs here; a disabled one is simply not listed.
 */
export function buildStages ({ engine, limits, gs1KeyOf }: StageDependencies): PipelineStages {
  return {
    fix: [validateFix(limits), checkAttribution(engine), dedupeFixes(engine), markLateFixes(engine), attachVehicle(engine), geofenceMilestones(engine)],
    scan: [validateScan(limits), dedupeScans(engine), attachStationAndParcel(engine, gs1KeyOf), smoothReads(engine), scanMilestones(engine)],
    event: [validateEvent(limits)],
    driver: [validateDriverEvent(limits), dedupeDriverEvents(engine), driverMilestones(engine)]
  }
}

function collectEffects (item: ScanItem | DriverItem, set: WriteSet): void {
  for (const milestone of item.milestones) set.milestones.push(milestone)
  for (const custody of item.custody) set.custody.push(custody)
}

type StageErrorLog = (error: unknown, stage: string, deviceId: string) => void

interface Outcome {
  rejects: Rejection[]
  duplicates: number
}

/**
 * Runs each fix and scan of a message through the stages and returns what to write. Synchronous,
 * so the fixes of one device keep their order without a queue per device.
 */
export class Pipeline {
  constructor (
    private readonly stages: PipelineStages,
    private readonly stats: IngestStats,
    private readonly onStageError: StageErrorLog
  ) {}

  /**
   * What to write, every item refused with why (the decoder's refusals included), and the fixes
   * that move a vehicle on the live map (late ones are history only).
   */
  process (message: IngestMessage): { set: WriteSet, rejects: Rejection[], live: FixItem[] } {
    const { deviceId, receivedAt } = message
    const set = emptyWriteSet()
    const outcome: Outcome = { rejects: message.rejects.length === 0 ? [] : [...message.rejects], duplicates: 0 }
    this.stats.message(deviceId, receivedAt)
    const fixes: FixItem[] = []
    const scans: ScanItem[] = []
    for (const fix of message.fixes) {
      this.route<FixItem>({ fix, sourceId: deviceId, receivedAt, vehicleId: null, late: false, effects: null }, this.stages.fix, fixes, outcome, deviceId)
    }
    for (const scan of message.scans) {
      this.route<ScanItem>({ scan, receivedAt, gs1Key: null, stationId: null, parcelId: null, containerId: null, direction: null, milestones: [], custody: [] }, this.stages.scan, scans, outcome, deviceId)
    }
    for (const event of message.events) this.route<EventItem>({ event, receivedAt }, this.stages.event, set.events, outcome, deviceId)
    const driven: DriverItem[] = []
    for (const event of message.driverEvents) this.route<DriverItem>({ event, receivedAt, milestones: [], custody: [] }, this.stages.driver, driven, outcome, deviceId)
    for (const item of fixes) {
      set.fixes.push(item)
      if (item.effects === null) continue
      for (const milestone of item.effects.milestones) set.milestones.push(milestone)
      for (const custody of item.effects.custody) set.custody.push(custody)
      for (const crossing of item.effects.crossings) set.crossings.push(crossing)
      for (const event of item.effects.events) set.events.push(event)
    }
    for (const item of scans) {
      set.scans.push(item)
      collectEffects(item, set)
    }
    for (const item of driven) collectEffects(item, set)
    this.countAccepted(set, receivedAt)
    if (driven.length > 0) this.stats.acceptedItems(deviceId, 'event', driven.length, receivedAt)
    this.stats.duplicates(deviceId, outcome.duplicates)
    const { rejects } = outcome
    if (rejects.length > 0) {
      for (const { reason } of rejects) this.stats.rejected(deviceId, reason)
      set.rejects.push({
        deviceId,
        topic: message.topic,
        receivedAt,
        reasons: [...new Set(rejects.map((r) => r.reason))],
        detail: rejects.map((r) => `${r.reason}: ${r.detail}`).join('; ').slice(0, 4000),
        payload: message.payload
      })
    }
    return { set, rejects, live: fixes.length === 0 ? fixes : fixes.filter((item) => !item.late) }
  }

  private route<I> (item: I, stages: Array<Stage<I>>, accepted: I[], outcome: Outcome, deviceId: string): void {
    const verdict = this.runStages(item, stages, deviceId)
    if (verdict === undefined) accepted.push(item)
    else if (verdict === DUPLICATE) outcome.duplicates++
    else outcome.rejects.push(verdict)
  }

  /** Counts per device; the items of one message nearly always belong to one device, so count runs. */
  private countAccepted (set: WriteSet, at: number): void {
    const tally = (kind: 'fix' | 'scan' | 'event', ids: string[]): void => {
      let run = 0
      for (let i = 0; i < ids.length; i++) {
        run++
        if (ids[i] !== ids[i + 1]) {
          this.stats.acceptedItems(ids[i] as string, kind, run, at)
          run = 0
        }
      }
    }
    if (set.fixes.length > 0) tally('fix', set.fixes.map((item) => item.fix.deviceId))
    if (set.scans.length > 0) tally('scan', set.scans.map((item) => item.scan.readerId))
    if (set.events.length > 0) tally('event', set.events.map((item) => item.event.deviceId))
  }

  /**
   * A stage that throws is a bug: it is logged, and the item is refused (kept in ingest_rejects
   * with its payload), never passed on unchecked. Letting it go on once stored a fix that had
   * skipped validation, which then froze its vehicle on the map.
   */
  private runStages<I> (item: I, stages: Array<Stage<I>>, deviceId: string): ReturnType<Stage<I>['run']> {
    for (const stage of stages) {
      let verdict
      try {
        verdict = stage.run(item)
      } catch (error) {
        this.onStageError(error, stage.name, deviceId)
        return rejection('stage_failed', `stage ${stage.name} failed: ${error instanceof Error ? error.message : String(error)}`)
      }
      if (verdict !== undefined) return verdict
    }
    return undefined
  }
}
