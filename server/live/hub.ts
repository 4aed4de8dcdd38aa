import { encodeLiveFrame, type LiveFrame } from '../../proto/live-codec.js'
import type { LiveBus, LiveEvent } from './bus.js'
import type { LivePosition, MilestoneRow, ParcelEta } from '../model.js'

interface ParcelViewer {
  onMilestones: (milestones: MilestoneRow[]) => void
  onEta: (eta: ParcelEta) => void
}

/** [west, south, east, north] in degrees; west > east crosses the antimeridian. */
export type BBox = [number, number, number, number]

/** How an ops viewer wants its frames: JSON text, or live.proto's LiveFrame as binary messages. */
export type LiveFormat = 'json' | 'protobuf'

/** One encoder per format; injectable so a test can count how often a frame is encoded. */
export type FrameEncoders = { [F in LiveFormat]: (frame: LiveFrame) => string | Uint8Array }

export const DEFAULT_ENCODERS: FrameEncoders = { json: (frame) => JSON.stringify(frame), protobuf: encodeLiveFrame }

/** The part of a WebSocket the hub needs: a string goes out as a text message, bytes as a binary one. */
export interface FrameSink {
  send: (frame: string | Uint8Array) => void
  readonly bufferedAmount: number
}

export interface OpsViewer {
  /** Without a format, the viewer keeps the one it has. */
  setViewport: (bbox: BBox | null, format?: LiveFormat) => void
  close: () => void
}

/** A viewer whose socket holds more than this is skipped until it drains, then resynced. */
const CONGESTED_BYTES = 1 << 20
/** How often a congested viewer that owes a snapshot is looked at again, when nothing moves. */
const RECHECK_MS = 250

class OpsSubscription implements OpsViewer {
  bbox: BBox | null = null
  /** Missed a frame while congested, or asked for a new viewport: owes a full snapshot rather than a delta. */
  stale = false
  /** Connected but has not said what it watches: gets nothing yet. */
  awaiting = false
  /** When it last had a snapshot: it gets at most one a tick, however often it asks. */
  snapshotAt = Number.NEGATIVE_INFINITY

  constructor (readonly sink: FrameSink, private readonly hub: LiveHub, public format: LiveFormat) {}

  setViewport (bbox: BBox | null, format: LiveFormat = this.format): void {
    this.awaiting = false
    this.bbox = bbox
    this.format = format
    this.hub.requestSnapshot(this)
  }

  close (): void {
    this.hub.removeOps(this)
  }
}

/**
 * Fans committed positions and milestones out to WebSocket viewers. Positions are coalesced: each
 * tick, a viewer gets one frame holding the newest position of every vehicle in its viewport
 * that moved, however many fixes arrived.
 *
 * What a viewer can be sent is bounded whatever it does: while its socket holds more than
 * CONGESTED_BYTES it is sent nothing (and resynced with a snapshot once drained), and viewport
 * changes are coalesced to at most one snapshot a tick, the last one asked for.
 */
export class LiveHub {
  private readonly latest = new Map<string, LivePosition>()
  private readonly moved = new Map<string, LivePosition>()
  private readonly ops = new Set<OpsSubscription>()
  /** The whole-world snapshot per format, kept until a position changes. */
  private worldSnapshot: Partial<Record<LiveFormat, string | Uint8Array>> = {}
  private readonly parcelViewers = new Map<string, Set<ParcelViewer>>()
  private timer: NodeJS.Timeout | undefined
  private recheck: NodeJS.Timeout | undefined
  private readonly unsubscribe: () => void

  constructor (bus: LiveBus, private readonly tickMs: number, initial: LivePosition[] = [], private readonly encoders: FrameEncoders = DEFAULT_ENCODERS) {
    for (const position of initial) this.latest.set(position.deviceId, position)
    this.unsubscribe = bus.subscribe((event) => { this.onEvent(event) })
  }

  addOps (sink: FrameSink, bbox: BBox | null = null, format: LiveFormat = 'json'): OpsViewer {
    const viewer = new OpsSubscription(sink, this, format)
    this.ops.add(viewer)
    viewer.setViewport(bbox)
    return viewer
  }

  /** A viewer that gets no snapshot and no frames until its first setViewport: a page that will ask for its viewport at once. */
  addOpsAwaitingViewport (sink: FrameSink): OpsViewer {
    const viewer = new OpsSubscription(sink, this, 'json')
    viewer.awaiting = true
    this.ops.add(viewer)
    return viewer
  }

  removeOps (viewer: OpsViewer): void {
    this.ops.delete(viewer as OpsSubscription)
  }

  /** Calls back with each batch of new milestones of one parcel, and with each ETA that moved. Returns the unsubscribe. */
  watchParcel (parcelId: string, onMilestones: (milestones: MilestoneRow[]) => void, onEta: (eta: ParcelEta) => void = () => {}): () => void {
    let viewers = this.parcelViewers.get(parcelId)
    if (viewers === undefined) {
      viewers = new Set()
      this.parcelViewers.set(parcelId, viewers)
    }
    const viewer = { onMilestones, onEta }
    viewers.add(viewer)
    return () => {
      viewers.delete(viewer)
      if (viewers.size === 0) this.parcelViewers.delete(parcelId)
    }
  }

  latestPosition (deviceId: string): LivePosition | undefined {
    return this.latest.get(deviceId)
  }

  get opsViewerCount (): number {
    return this.ops.size
  }

  close (): void {
    this.unsubscribe()
    clearTimeout(this.timer)
    clearTimeout(this.recheck)
    this.ops.clear()
    this.parcelViewers.clear()
  }

  /** A snapshot now, unless the viewer is congested or had one this tick: then at a later tick. */
  requestSnapshot (viewer: OpsSubscription): void {
    if (!congested(viewer) && Date.now() - viewer.snapshotAt >= this.tickMs) {
      this.sendSnapshot(viewer)
      return
    }
    viewer.stale = true
    this.schedule()
  }

  private schedule (delayMs = this.tickMs): void {
    if (this.timer === undefined) this.timer = setTimeout(() => { this.tick() }, delayMs)
  }

  private sendSnapshot (viewer: OpsSubscription): void {
    viewer.stale = false
    viewer.snapshotAt = Date.now()
    const encode = (): string | Uint8Array => this.encoders[viewer.format]({ type: 'snapshot', positions: within([...this.latest.values()], viewer.bbox) })
    // every client gets the whole world on connecting: with thousands of vehicles, encoding it for
    // each of a crowd of connecting pages (after a restart, say) would hold the event loop for seconds
    viewer.sink.send(viewer.bbox === null ? this.worldSnapshot[viewer.format] ??= encode() : encode())
  }

  private onEvent (event: LiveEvent): void {
    if (event.kind === 'positions') {
      for (const position of event.positions) {
        const known = this.latest.get(position.deviceId)
        // a bus can deliver out of order across instances: never move a vehicle backwards in time
        if (known !== undefined && known.time >= position.time) continue
        this.latest.set(position.deviceId, position)
        this.moved.set(position.deviceId, position)
        this.worldSnapshot = {}
      }
      if (this.moved.size > 0) this.schedule()
      return
    }
    if (event.kind === 'etas') {
      for (const eta of event.etas) for (const viewer of this.parcelViewers.get(eta.parcelId) ?? []) viewer.onEta(eta)
      return
    }
    const byParcel = new Map<string, MilestoneRow[]>()
    for (const milestone of event.milestones) {
      if (!this.parcelViewers.has(milestone.parcelId)) continue
      byParcel.set(milestone.parcelId, [...(byParcel.get(milestone.parcelId) ?? []), milestone])
    }
    for (const [parcelId, milestones] of byParcel) {
      for (const viewer of this.parcelViewers.get(parcelId) ?? []) viewer.onMilestones(milestones)
    }
  }

  private tick (): void {
    this.timer = undefined
    const moved = [...this.moved.values()]
    this.moved.clear()
    // the whole-world frame is the same for every such viewer: encoded at most once per format
    const everywhere: Partial<Record<LiveFormat, string | Uint8Array>> = {}
    let owing = false
    for (const viewer of this.ops) {
      if (viewer.awaiting) continue
      if (congested(viewer)) {
        viewer.stale = true
        owing = true
        continue
      }
      if (viewer.stale) {
        this.sendSnapshot(viewer)
        continue
      }
      if (moved.length === 0) continue
      if (viewer.bbox === null) {
        viewer.sink.send(everywhere[viewer.format] ??= this.encoders[viewer.format]({ type: 'positions', positions: moved }))
        continue
      }
      const visible = within(moved, viewer.bbox)
      if (visible.length > 0) viewer.sink.send(this.encoders[viewer.format]({ type: 'positions', positions: visible }))
    }
    // a congested viewer owes a snapshot: look again even if nothing moves meanwhile
    if (owing && this.recheck === undefined) {
      this.recheck = setTimeout(() => {
        this.recheck = undefined
        this.schedule()
      }, RECHECK_MS)
    }
  }
}

function congested (viewer: OpsSubscription): boolean {
  return viewer.sink.bufferedAmount > CONGESTED_BYTES
}

export function within (positions: LivePosition[], bbox: BBox | null): LivePosition[] {
  if (bbox === null) return positions
  const [west, south, east, north] = bbox
  const crossesAntimeridian = west > east
  return positions.filter(({ lat, lon }) =>
    lat >= south && lat <= north && (crossesAntimeridian ? lon >= west || lon <= east : lon >= west && lon <= east))
}
