import type { ReaderRecord, VisitRow } from '../model.js'
import { closeExpired, nextOnRead, type SmoothingConfig, type SmoothingStep, type TagRead } from '../tracking/rfid-smoothing.js'

interface OpenVisit {
  step: SmoothingStep['visit']
  /** The reader's settings when the visit opened: what closes it too. */
  config: SmoothingConfig
  readerId: string
  epc: string
  parcelId: string | null
  stationId: string | null
}

const NO_SIDES: ReadonlyMap<number, 'inner' | 'outer'> = new Map()

/**
 * Each tag's current visit at each reader (tracking/rfid-smoothing.ts), and the visits that ended,
 * waiting to be stored. In memory: a restart loses open visits, never the reads themselves.
 */
export class TagVisits {
  private readonly open = new Map<string, OpenVisit>()
  private ended: VisitRow[] = []
  private readonly configs = new WeakMap<ReaderRecord, SmoothingConfig>()

  constructor (readonly windowMs: number) {}

  /** The reader's smoothing settings: its antennas' sides, kept until the reader is placed again. */
  configOf (reader: ReaderRecord | undefined): SmoothingConfig {
    if (reader === undefined) return { windowMs: this.windowMs, sides: NO_SIDES }
    let config = this.configs.get(reader)
    if (config === undefined) {
      const sides = new Map<number, 'inner' | 'outer'>()
      for (const antenna of reader.antennas) if (antenna.side !== undefined) sides.set(antenna.port, antenna.side)
      config = { windowMs: this.windowMs, sides }
      this.configs.set(reader, config)
    }
    return config
  }

  read (key: { readerId: string, epc: string, parcelId: string | null, stationId: string | null }, read: TagRead, config: SmoothingConfig): SmoothingStep {
    const id = `${key.readerId}|${key.epc}`
    const known = this.open.get(id)
    const step = nextOnRead(known?.step, read, config)
    for (const observation of step.observations) {
      if (observation.kind === 'visit_end' && known !== undefined) this.ended.push({ ...observation, ...pick(known) })
    }
    if (known === undefined || step.visit !== known.step) this.open.set(id, { step: step.visit, config, ...key })
    return step
  }

  /** Closes visits whose tags have not been read for the window, and hands over every ended visit. */
  drain (now: number): VisitRow[] {
    for (const [id, visit] of this.open) {
      const end = closeExpired(visit.step, now, visit.config)
      if (end !== null) this.ended.push({ ...end, ...pick(visit) })
      if (visit.step.closed) this.open.delete(id)
    }
    const ended = this.ended
    this.ended = []
    return ended
  }

  /** Visits that could not be stored go back in line, newest dropped first past a bound. */
  requeue (rows: readonly VisitRow[], bound = 100_000): void {
    this.ended = [...rows, ...this.ended].slice(0, bound)
  }
}

function pick ({ readerId, epc, parcelId, stationId }: OpenVisit): Pick<VisitRow, 'readerId' | 'epc' | 'parcelId' | 'stationId'> {
  return { readerId, epc, parcelId, stationId }
}
