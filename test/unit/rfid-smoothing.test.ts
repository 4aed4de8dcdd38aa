import { describe, expect, it } from 'vitest'
import {
  closeExpired,
  DIRECTION_MIN_READS,
  nextOnRead,
  type Observation,
  type Side,
  type SmoothingConfig,
  type TagRead,
  type TagVisit,
  type VisitEnd
} from '../../server/tracking/rfid-smoothing.js'

const T0 = Date.UTC(2026, 10, 23, 3, 0, 0)
const INNER = 1
const OUTER = 2
const OTHER = 3

/** A dock door: port 1 faces the warehouse, port 2 the truck, port 3 has no side. */
const DOOR: SmoothingConfig = { windowMs: 5_000, sides: new Map<number, Side>([[INNER, 'inner'], [OUTER, 'outer']]) }
/** A sort station: no sides, so no direction. */
const SORTER: SmoothingConfig = { windowMs: 1_000, sides: new Map() }

function at (ms: number): number {
  return T0 + ms
}

function read (ms: number, antenna: number = INNER, rssi?: number): TagRead {
  return rssi === undefined ? { time: at(ms), antenna } : { time: at(ms), antenna, rssi }
}

function inner (...ms: number[]): TagRead[] {
  return ms.map((m) => read(m, INNER))
}

function outer (...ms: number[]): TagRead[] {
  return ms.map((m) => read(m, OUTER))
}

function byTime (reads: readonly TagRead[]): TagRead[] {
  return [...reads].sort((a, b) => a.time - b.time)
}

/** Folds a timeline of reads over the visit, collecting every observation and counting stale reads. */
function replay (reads: readonly TagRead[], config: SmoothingConfig, start?: TagVisit): { visit: TagVisit | undefined, emitted: Observation[], stale: number } {
  let visit = start
  const emitted: Observation[] = []
  let stale = 0
  for (const r of reads) {
    const step = nextOnRead(visit, r, config)
    visit = step.visit
    emitted.push(...step.observations)
    if (step.stale) stale++
  }
  return { visit, emitted, stale }
}

/** Replays, then lets the window pass and sweeps: every observation of the timeline. */
function replayAndSweep (reads: readonly TagRead[], config: SmoothingConfig): Observation[] {
  const { visit, emitted } = replay(reads, config)
  if (visit === undefined) return emitted
  const end = closeExpired(visit, visit.lastSeen + config.windowMs + 1, config)
  return end === null ? emitted : [...emitted, end]
}

function ofKind<K extends Observation['kind']> (observations: readonly Observation[], kind: K): Array<Extract<Observation, { kind: K }>> {
  return observations.filter((o): o is Extract<Observation, { kind: K }> => o.kind === kind)
}

function visitEnd (firstMs: number, lastMs: number, count: number, fields: Partial<VisitEnd> = {}): VisitEnd {
  return { kind: 'visit_end', firstSeen: at(firstMs), lastSeen: at(lastMs), count, peakRssi: null, antennas: [INNER], direction: null, ...fields }
}

/** mulberry32: a small seeded generator, so a failing case can be replayed from its seed. */
function random (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function shuffled<T> (items: readonly T[], rand: () => number): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    const swap = out[i] as T
    out[i] = out[j] as T
    out[j] = swap
  }
  return out
}

/**
 * A loading pass with crosstalk both ways: mostly inner reads early and outer reads late, but the
 * outer antenna catches the tag at 150 and 350 ms and the inner antenna again at 900 ms.
 */
const JITTERY_LOADING = byTime([
  ...inner(0, 100, 200, 300, 400, 500, 600, 900),
  ...outer(150, 350, 700, 800, 1000, 1100, 1200)
])

describe('nextOnRead: visits', () => {
  it('turns 5 reads a second for 3 s into one visit_start and, once the window passes, one visit_end of 15 reads', () => {
    const reads = Array.from({ length: 15 }, (_, i) => read(i * 200))
    const { visit, emitted } = replay(reads, SORTER)
    expect(emitted).toEqual([{ kind: 'visit_start', time: at(0) }])
    if (visit === undefined) throw new Error('no visit')
    expect(closeExpired(visit, at(2_800 + 1_000), SORTER)).toBeNull()
    expect(closeExpired(visit, at(2_800 + 1_001), SORTER)).toEqual(visitEnd(0, 2_800, 15))
    expect(closeExpired(visit, at(9_999), SORTER)).toBeNull()
  })

  it('splits a tag that leaves and comes back after more than the window into two visits', () => {
    const reads = [...inner(0, 200, 400, 600, 800), ...inner(3_000, 3_200, 3_400)]
    expect(replayAndSweep(reads, SORTER)).toEqual([
      { kind: 'visit_start', time: at(0) },
      visitEnd(0, 800, 5),
      { kind: 'visit_start', time: at(3_000) },
      visitEnd(3_000, 3_400, 3)
    ])
  })

  it('keeps one visit across a gap of exactly the window', () => {
    const emitted = replayAndSweep(inner(0, 1_000, 2_000), SORTER)
    expect(emitted).toEqual([{ kind: 'visit_start', time: at(0) }, visitEnd(0, 2_000, 3)])
  })

  it('folds a late read in without moving lastSeen back, and moves firstSeen back for one within the window', () => {
    const { visit, emitted, stale } = replay(inner(10_000, 10_500, 10_200, 9_400), SORTER)
    expect(emitted).toEqual([{ kind: 'visit_start', time: at(10_000) }])
    expect(stale).toBe(0)
    expect(visit).toMatchObject({ openedAt: at(10_000), firstSeen: at(9_400), lastSeen: at(10_500), count: 4 })
  })

  it('ignores a read older than the window before firstSeen as stale, and takes one exactly at the edge', () => {
    const start = replay(inner(10_000, 10_400), SORTER).visit
    if (start === undefined) throw new Error('no visit')
    const before = structuredClone(start)
    const staleStep = nextOnRead(start, read(8_999), SORTER)
    expect(staleStep).toEqual({ visit: start, observations: [], stale: true })
    expect(start).toEqual(before)
    const edge = nextOnRead(start, read(9_000), SORTER)
    expect(edge.stale).toBe(false)
    expect(edge.observations).toEqual([])
    expect(closeExpired(edge.visit, at(99_999), SORTER)).toEqual(visitEnd(9_000, 10_400, 3))
  })

  it('counts a late read of a visit the sweep already closed as stale, and opens the next visit without a second visit_end', () => {
    const first = replay(inner(0, 200, 400), SORTER).visit
    if (first === undefined) throw new Error('no visit')
    expect(closeExpired(first, at(1_401), SORTER)).toEqual(visitEnd(0, 400, 3))
    expect(first.closed).toBe(true)
    const late = nextOnRead(first, read(300), SORTER)
    expect(late).toMatchObject({ visit: first, observations: [], stale: true })
    const back = nextOnRead(first, read(5_000), SORTER)
    expect(back.observations).toEqual([{ kind: 'visit_start', time: at(5_000) }])
    expect(back.visit).not.toBe(first)
    expect(back.visit).toMatchObject({ firstSeen: at(5_000), lastSeen: at(5_000), count: 1, closed: false })
  })

  it('keeps the strongest RSSI of the reads that carried one, and null when none did', () => {
    const reads = [read(0, INNER, -70), read(100, OUTER, -55), read(200, INNER), read(300, OTHER, -62), read(400, INNER, -58)]
    expect(ofKind(replayAndSweep(reads, SORTER), 'visit_end')).toEqual([
      visitEnd(0, 400, 5, { peakRssi: -55, antennas: [INNER, OUTER, OTHER] })
    ])
    expect(ofKind(replayAndSweep(inner(0, 100), SORTER), 'visit_end')[0]?.peakRssi).toBeNull()
  })

  it('lists the antennas once each, in port order, whatever order they were first seen in', () => {
    const reads = [read(0, 4), read(10, 2), read(20, 4), read(30, 1), read(40, 3), read(50, 2)]
    expect(ofKind(replayAndSweep(reads, SORTER), 'visit_end')[0]?.antennas).toEqual([1, 2, 3, 4])
  })

  it('updates the visit in place on a read inside the window and allocates no observations for it', () => {
    const { visit } = replay(inner(0), SORTER)
    const a = nextOnRead(visit, read(100), SORTER)
    const b = nextOnRead(a.visit, read(200), SORTER)
    expect(a.visit).toBe(visit)
    expect(b.visit).toBe(visit)
    expect(b.observations).toBe(a.observations)
    expect(Object.isFrozen(a.observations)).toBe(true)
    expect(visit?.count).toBe(3)
  })
})

describe('nextOnRead: direction at a dock door', () => {
  it('reports loading for inner then outer, as soon as the outer side has enough reads', () => {
    const reads = [...inner(0, 100, 200, 300, 400), ...outer(500, 600, 700, 800, 900)]
    const { visit, emitted } = replay(reads.slice(0, 7), DOOR)
    expect(ofKind(emitted, 'direction')).toEqual([])
    const decisive = nextOnRead(visit, read(700, OUTER), DOOR)
    expect(decisive.observations).toEqual([{ kind: 'direction', direction: 'loading', time: at(500) }])
    const after = replayAndSweep(reads, DOOR)
    expect(after).toEqual([
      { kind: 'visit_start', time: at(0) },
      { kind: 'direction', direction: 'loading', time: at(500) },
      visitEnd(0, 900, 10, { antennas: [INNER, OUTER], direction: 'loading' })
    ])
    expect(replay(reads, DOOR).visit).toMatchObject({ firstSide: 'inner', lastSide: 'outer', direction: 'loading' })
  })

  it('reports unloading for outer then inner', () => {
    const reads = [...outer(0, 100, 200, 300, 400), ...inner(500, 600, 700, 800, 900)]
    expect(replayAndSweep(reads, DOOR)).toEqual([
      { kind: 'visit_start', time: at(0) },
      { kind: 'direction', direction: 'unloading', time: at(500) },
      visitEnd(0, 900, 10, { antennas: [INNER, OUTER], direction: 'unloading' })
    ])
  })

  it(`waits for ${DIRECTION_MIN_READS} reads on each side, and decides on the first read of the second side when configured with 1`, () => {
    const reads = [...inner(0, 100, 200, 300), ...outer(400, 500)]
    expect(ofKind(replayAndSweep(reads, DOOR), 'visit_end')[0]?.direction).toBeNull()
    const eager: SmoothingConfig = { ...DOOR, minReadsPerSide: 1 }
    const { visit } = replay(reads.slice(0, 4), eager)
    expect(nextOnRead(visit, read(400, OUTER), eager).observations).toEqual([{ kind: 'direction', direction: 'loading', time: at(400) }])
  })

  it('gives the majority direction for an interleaved, jittery pass, despite crosstalk both ways', () => {
    const emitted = replayAndSweep(JITTERY_LOADING, DOOR)
    // decided on the third outer read (700 ms): inner mean 300 ms, outer mean 400 ms. The time is
    // the first outer read in hand, here a crosstalk read: the time is only as good as the first read.
    expect(ofKind(emitted, 'direction')).toEqual([{ kind: 'direction', direction: 'loading', time: at(150) }])
    expect(ofKind(emitted, 'visit_end')).toEqual([visitEnd(0, 1_200, 15, { antennas: [INNER, OUTER], direction: 'loading' })])
  })

  it('is not fooled by stray reads on the wrong side first and last, where a first-side/last-side rule would be', () => {
    const reads = byTime([...outer(0), ...inner(100, 200, 300, 400, 500), ...outer(600, 700, 800, 900, 1_000), ...inner(1_100)])
    const { visit, emitted } = replay(reads, DOOR)
    expect(visit).toMatchObject({ firstSide: 'outer', lastSide: 'inner' })
    expect(ofKind(emitted, 'direction').map((d) => d.direction)).toEqual(['loading'])
  })

  it('gives the same direction and the same visit_end when the same reads arrive out of order', () => {
    const expected = replayAndSweep(JITTERY_LOADING, DOOR)
    const batches = [JITTERY_LOADING.slice(0, 5), JITTERY_LOADING.slice(5, 10), JITTERY_LOADING.slice(10)]
    const orders = {
      reversed: [...JITTERY_LOADING].reverse(),
      'batches in reverse order': [...(batches[2] ?? []), ...(batches[1] ?? []), ...(batches[0] ?? [])],
      'evens then odds': [...JITTERY_LOADING.filter((_, i) => i % 2 === 0), ...JITTERY_LOADING.filter((_, i) => i % 2 === 1)]
    }
    for (const [name, order] of Object.entries(orders)) {
      const emitted = replayAndSweep(order, DOOR)
      expect(ofKind(emitted, 'visit_start'), name).toHaveLength(1)
      expect(ofKind(emitted, 'direction').map((d) => d.direction), name).toEqual(['loading'])
      expect(ofKind(emitted, 'visit_end'), name).toEqual(ofKind(expected, 'visit_end'))
    }
  })

  it('emits no direction at a reader without sides', () => {
    const reads = byTime([...inner(0, 100, 200, 300), ...outer(400, 500, 600, 700)])
    const { visit, emitted } = replay(reads, SORTER)
    expect(ofKind(emitted, 'direction')).toEqual([])
    expect(visit).toMatchObject({ firstSide: null, lastSide: null, direction: null })
    expect(ofKind(replayAndSweep(reads, SORTER), 'visit_end')).toEqual([visitEnd(0, 700, 8, { antennas: [INNER, OUTER] })])
  })

  it('ignores antennas without a side when judging the direction', () => {
    const reads = byTime([...inner(300, 400, 500), ...outer(600, 700, 800), read(0, OTHER), read(900, OTHER)])
    const emitted = replayAndSweep(reads, DOOR)
    expect(ofKind(emitted, 'direction')).toEqual([{ kind: 'direction', direction: 'loading', time: at(600) }])
    expect(ofKind(emitted, 'visit_end')[0]).toMatchObject({ firstSeen: at(0), lastSeen: at(900), count: 8, antennas: [INNER, OUTER, OTHER] })
  })

  it('emits at most one direction: late reads showing the other order do not contradict it', () => {
    const onTime = [...inner(1_000, 1_100, 1_200), ...outer(1_300, 1_400, 1_500)]
    const late = [...outer(0, 100, 200, 300, 400, 500, 600), ...inner(2_000, 2_100, 2_200, 2_300)]
    const { visit, emitted } = replay([...onTime, ...late], DOOR)
    expect(ofKind(emitted, 'direction')).toEqual([{ kind: 'direction', direction: 'loading', time: at(1_300) }])
    if (visit === undefined) throw new Error('no visit')
    // the evidence now says unloading, but the judgement stands and the stored row repeats it
    expect(visit.inner.timeSum / visit.inner.reads).toBeGreaterThan(visit.outer.timeSum / visit.outer.reads)
    expect(closeExpired(visit, at(2_300 + 5_001), DOOR)).toEqual(visitEnd(0, 2_300, 17, { antennas: [INNER, OUTER], direction: 'loading' }))
  })

  it('judges each visit afresh: a tag loaded, then unloaded at the same door later', () => {
    const reads = [...inner(0, 100, 200), ...outer(300, 400, 500), ...outer(60_000, 60_100, 60_200), ...inner(60_300, 60_400, 60_500)]
    const emitted = replayAndSweep(reads, DOOR)
    expect(ofKind(emitted, 'direction').map((d) => d.direction)).toEqual(['loading', 'unloading'])
    expect(ofKind(emitted, 'visit_end').map((e) => e.direction)).toEqual(['loading', 'unloading'])
  })
})

describe('nextOnRead: arrival order, seeded', () => {
  const SEEDS = Array.from({ length: 200 }, (_, i) => i + 1)

  /** Reads spanning at most the window, on any antenna: one visit whatever the order. */
  function randomVisit (rand: () => number): TagRead[] {
    const n = 1 + Math.floor(rand() * 40)
    return Array.from({ length: n }, () => {
      const ms = Math.floor(rand() * (DOOR.windowMs + 1))
      const antenna = [INNER, OUTER, OTHER][Math.floor(rand() * 3)] ?? INNER
      return read(ms, antenna, rand() < 0.5 ? undefined : -90 + Math.floor(rand() * 60))
    })
  }

  it('for any shuffling of the reads of one visit: one visit_start, at most one direction, one identical visit_end', () => {
    for (const seed of SEEDS) {
      const rand = random(seed)
      const reads = randomVisit(rand)
      const rssis = reads.flatMap((r) => r.rssi === undefined ? [] : [r.rssi])
      const expected = {
        kind: 'visit_end',
        firstSeen: Math.min(...reads.map((r) => r.time)),
        lastSeen: Math.max(...reads.map((r) => r.time)),
        count: reads.length,
        peakRssi: rssis.length === 0 ? null : Math.max(...rssis),
        antennas: [...new Set(reads.map((r) => r.antenna))].sort((a, b) => a - b)
      }
      for (let round = 0; round < 5; round++) {
        const order = shuffled(reads, rand)
        const { stale } = replay(order, DOOR)
        const emitted = replayAndSweep(order, DOOR)
        const label = `seed ${seed}, round ${round}`
        expect(stale, label).toBe(0)
        expect(ofKind(emitted, 'visit_start'), label).toEqual([{ kind: 'visit_start', time: order[0]?.time }])
        const directions = ofKind(emitted, 'direction')
        expect(directions.length, label).toBeLessThanOrEqual(1)
        const ends = ofKind(emitted, 'visit_end')
        expect(ends, label).toHaveLength(1)
        expect(ends[0], label).toEqual({ ...expected, direction: directions[0]?.direction ?? null })
        expect(emitted[0]?.kind, label).toBe('visit_start')
        expect(emitted[emitted.length - 1]?.kind, label).toBe('visit_end')
      }
    }
  })

  it('for any shuffling of a clean pass (every inner read before every outer read), the direction is loading', () => {
    for (const seed of SEEDS) {
      const rand = random(seed)
      const count = (): number => DIRECTION_MIN_READS + Math.floor(rand() * 10)
      const reads = [
        ...Array.from({ length: count() }, () => read(Math.floor(rand() * 1_000), INNER)),
        ...Array.from({ length: count() }, () => read(1_000 + Math.floor(rand() * 1_000), OUTER))
      ]
      const directions = ofKind(replayAndSweep(shuffled(reads, rand), DOOR), 'direction')
      expect(directions.map((d) => d.direction), `seed ${seed}`).toEqual(['loading'])
      expect(directions[0]?.time, `seed ${seed}`).toBeGreaterThanOrEqual(at(1_000))
    }
  })
})
