import type { ActiveParcel, ExceptionKind, MilestoneRow, NewException, OpenException } from '../model.js'
import { parcelRef } from '../tracking/custody.js'
import { exceptionsOf, nextExceptionAt, type ExceptionRules } from '../tracking/exceptions.js'
import type { LaneStats } from '../tracking/lane-stats.js'
import { DueIndex } from './due.js'
import { placeMilestone, type TrackObserver } from './milestones.js'
import type { Store } from './store.js'

/** What one pass of the exception rules asks to be written, and what it looked at. */
export interface ExceptionPlan {
  /** The milestones of the parcel exceptions raised now (stalled, suspected_lost, customs_delayed). */
  milestones: MilestoneRow[]
  open: NewException[]
  /** Ids of open exceptions that no longer hold. */
  clear: string[]
  /** The parcels this pass evaluated: looked at again if writing the plan fails. */
  parcels: string[]
  /** More parcels are due or changed than this pass took: run another soon. */
  more: boolean
}

export interface ExceptionOptions {
  rules: ExceptionRules
  vehicleSilentMs: number
}

/** A parcel is looked at again at least this often, so a lane that learns shorter steps is heard. */
const RECHECK_MS = 6 * 3_600_000

/**
 * Parcel and vehicle exceptions that raise and clear themselves. Each parcel on its way waits in
 * a due index until the first moment one of its exceptions could start to hold; a parcel whose
 * track changes is looked at on the next pass. A pass touches only those: never every parcel.
 * Vehicles are few and all looked at.
 */
export class ExceptionTracker {
  private readonly due = new DueIndex()
  private readonly changed = new Set<string>()
  /** Open exceptions by subject (parcel id or vehicle id), then kind: their database ids. */
  private readonly open = new Map<string, Map<ExceptionKind, string>>()

  constructor (
    private readonly store: Store,
    private readonly stats: LaneStats,
    private readonly options: ExceptionOptions
  ) {}

  /** How many parcels wait for a moment to be looked at. */
  get waiting (): number {
    return this.due.size
  }

  /** The parcel's track changed (or it just arrived): look at it on the next pass. */
  touched (parcel: ActiveParcel): void {
    this.changed.add(parcel.id)
  }

  /** Look at the parcel at this moment (at start: now, for every parcel read back). */
  dueAt (parcelId: string, at: number): void {
    this.due.schedule(parcelId, at)
  }

  /** Exceptions open in the database at start; each parcel's is looked at again, since its journey may have ended meanwhile. */
  restore (rows: readonly OpenException[]): void {
    this.opened(rows)
    for (const row of rows) if (row.parcelId !== null) this.changed.add(row.parcelId)
  }

  /** What writing a plan opened: their database ids, to clear them by. */
  opened (rows: readonly OpenException[]): void {
    for (const row of rows) this.remember(row.parcelId ?? row.vehicleId ?? '', row.kind, row.id)
  }

  cleared (ids: readonly string[]): void {
    const gone = new Set(ids)
    for (const [subject, kinds] of this.open) {
      for (const [kind, id] of kinds) if (gone.has(id)) kinds.delete(kind)
      if (kinds.size === 0) this.open.delete(subject)
    }
  }

  /** Writing a plan failed: look at its parcels again on the next pass. */
  failed (plan: ExceptionPlan): void {
    for (const id of plan.parcels) this.changed.add(id)
  }

  /**
   * One step of a pass: at most `limit` parcels, those changed first, then those due; and every
   * vehicle, at the step that ends the pass.
   * Records the milestones of what it raises. `more` says parcels were left for another pass.
   */
  plan (now: number, observer: TrackObserver, limit = Number.POSITIVE_INFINITY): ExceptionPlan {
    const plan: ExceptionPlan = { milestones: [], open: [], clear: [], parcels: [], more: false }
    const ids = new Set<string>()
    for (const id of this.changed) {
      if (ids.size >= limit) break
      ids.add(id)
    }
    for (const id of ids) this.changed.delete(id)
    for (const id of this.due.takeDue(now, limit - ids.size)) ids.add(id)
    plan.more = this.changed.size > 0 || (this.due.nextAt() ?? Number.POSITIVE_INFINITY) <= now
    for (const id of ids) {
      const parcel = this.store.parcels.get(id)
      plan.parcels.push(id)
      if (parcel === undefined) {
        this.clearAll(id, plan)
        continue
      }
      this.evaluate(parcel, now, plan, observer)
    }
    // the vehicles once a pass, at its last step: a pass after a restart has hundreds of steps
    if (!plan.more) this.vehicles(now, plan)
    return plan
  }

  private evaluate (parcel: ActiveParcel, now: number, plan: ExceptionPlan, observer: TrackObserver): void {
    // read once: a track loaded at start unpacks at every read
    const recent = parcel.track.recent
    const held = exceptionsOf(recent, parcel.lane, now, this.stats, this.options.rules)
    const known = this.open.get(parcel.id)
    for (const raised of held) {
      if (known?.has(raised.kind) === true) continue
      plan.open.push({ kind: raised.kind, parcelId: parcel.id, vehicleId: null, openedAt: raised.since, detail: raised.detail })
      const vehicleId = this.store.custody.vehicleOf(parcelRef(parcel.id))
      plan.milestones.push(...placeMilestone(this.store, observer, parcel, raised.milestone, vehicleId, {
        time: raised.since, source: 'engine', deviceId: null, stationId: null, note: null
      }, null))
    }
    for (const [kind, id] of known ?? []) if (!held.some((raised) => raised.kind === kind)) plan.clear.push(id)
    // its own milestones marked it changed: it has just been looked at
    this.changed.delete(parcel.id)
    const next = this.store.parcels.isActive(parcel.id) ? nextExceptionAt(recent, parcel.lane, now, this.stats, this.options.rules) : undefined
    if (next === undefined) this.due.cancel(parcel.id)
    else this.due.schedule(parcel.id, Math.min(next, now + RECHECK_MS))
  }

  private clearAll (subject: string, plan: ExceptionPlan): void {
    for (const id of this.open.get(subject)?.values() ?? []) plan.clear.push(id)
    this.due.cancel(subject)
  }

  /** A vehicle carrying parcels without a fix for too long is silent. */
  private vehicles (now: number, plan: ExceptionPlan): void {
    for (const vehicle of this.store.config.vehicles()) {
      const last = this.store.vehiclePosition(vehicle.id)?.time
      // the parcels aboard are counted only for a vehicle that has been quiet for long enough
      const quiet = now - (last ?? -Infinity) > this.options.vehicleSilentMs
      const aboard = quiet ? this.store.custody.parcelsIn(`vehicle:${vehicle.id}`).length : 0
      const silent = aboard > 0
      const known = this.open.get(vehicle.id)?.get('vehicle_silent')
      if (silent && known === undefined) {
        plan.open.push({ kind: 'vehicle_silent', parcelId: null, vehicleId: vehicle.id, openedAt: now, detail: { lastFix: last === undefined ? null : new Date(last).toISOString(), parcelsAboard: aboard } })
      } else if (!silent && known !== undefined) plan.clear.push(known)
    }
  }

  private remember (subject: string, kind: ExceptionKind, id: string): void {
    const kinds = this.open.get(subject) ?? new Map<ExceptionKind, string>()
    kinds.set(kind, id)
    this.open.set(subject, kinds)
  }
}
