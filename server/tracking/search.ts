import type { ContainerRecord, DeviceRecord, ParcelRecord, VehicleRecord } from '../model.js'

export type SearchKind = 'parcel' | 'vehicle' | 'device' | 'container'

/** The registry entries the ops search box looks through; only the fields it reads, so tests stay small. */
export type Subject =
  | { kind: 'parcel', record: Pick<ParcelRecord, 'id' | 'trackingNumber' | 'epc' | 'status'> & Partial<Pick<ParcelRecord, 'gs1Key'>> }
  | { kind: 'vehicle', record: Pick<VehicleRecord, 'id' | 'name' | 'plate' | 'deviceId'> }
  | { kind: 'device', record: Pick<DeviceRecord, 'id' | 'name' | 'kind'> }
  | { kind: 'container', record: Pick<ContainerRecord, 'id' | 'kind' | 'name' | 'epc'> & Partial<Pick<ContainerRecord, 'gs1Key'>> }

/** 0: a key equals the query; 1: a key starts with it. */
export type Rank = 0 | 1

export interface Match {
  subject: Subject
  rank: Rank
  kind: SearchKind
  id: string
  label: string
  detail: string
}

interface Ranked { subject: Subject, closeness: number, label: string }

// among matches as exact, the thing ops most often look for comes first
const KIND_ORDER: Record<SearchKind, number> = { parcel: 0, vehicle: 1, container: 2, device: 3 }

/** What a person might type for each kind of thing. */
export function keysOf (subject: Subject): Array<string | null> {
  switch (subject.kind) {
    case 'parcel': return [subject.record.trackingNumber, subject.record.epc, ssccOf(subject.record.gs1Key)]
    case 'vehicle': return [subject.record.id, subject.record.name, subject.record.plate]
    case 'device': return [subject.record.id, subject.record.name]
    case 'container': return [subject.record.id, subject.record.epc, ssccOf(subject.record.gs1Key)]
  }
}

/** The 18 digits printed on an SSCC label, which is what a person types. */
function ssccOf (gs1Key: string | null | undefined): string | null {
  return gs1Key?.startsWith('sscc:') === true ? gs1Key.slice(5) : null
}

/**
 * How closely the query matches: 0 when a key equals it (case-insensitively), else the length of
 * the shortest key it starts, so the closest completion ranks first (TS-9 before TS-10), or
 * undefined when it starts none. The query must already be lower-cased.
 */
export function closeness (keys: ReadonlyArray<string | null>, needle: string): number | undefined {
  let best: number | undefined
  for (const key of keys) {
    if (key === null || key.length < needle.length || (best !== undefined && key.length >= best)) continue
    const prefix = startsWithFolded(key, needle)
    if (prefix === 'exact') return 0
    if (prefix) best = key.length
  }
  return best
}

/**
 * Whether `key` starts with `needle` ignoring case, without lower-casing (and so copying) every
 * tracking number and EPC in the registry: most differ from the query at the first character.
 */
function startsWithFolded (key: string, needle: string): boolean | 'exact' {
  for (let i = 0; i < needle.length; i++) {
    let code = key.charCodeAt(i)
    // beyond ASCII, case folding can change lengths: let the library do it
    if (code > 127) return foldedSlow(key, needle)
    if (code >= 65 && code <= 90) code += 32
    if (code !== needle.charCodeAt(i)) return false
  }
  // the rest of the key cannot undo a match of the start, whatever case it is in
  return key.length === needle.length ? 'exact' : true
}

function foldedSlow (key: string, needle: string): boolean | 'exact' {
  const folded = key.toLowerCase()
  return folded === needle ? 'exact' : folded.startsWith(needle)
}

/** The name people recognise: what the result list shows and sorts by. */
export function labelOf (subject: Subject): string {
  switch (subject.kind) {
    case 'parcel': return subject.record.trackingNumber
    case 'vehicle': return subject.record.plate === null ? subject.record.name : `${subject.record.name} (${subject.record.plate})`
    case 'device': return subject.record.id
    case 'container': return subject.record.name ?? subject.record.id
  }
}

/** How a result reads in the list: the label, and a line saying what it is. */
export function describe (subject: Subject): { id: string, label: string, detail: string } {
  const label = labelOf(subject)
  switch (subject.kind) {
    case 'parcel': {
      const { id, epc, status } = subject.record
      return { id, label, detail: join(['parcel', status.replaceAll('_', ' '), epc === null ? null : `EPC ${epc}`]) }
    }
    case 'vehicle': {
      const { id, deviceId } = subject.record
      return { id, label, detail: join([`vehicle ${id}`, deviceId === null ? 'no tracker' : `tracker ${deviceId}`]) }
    }
    case 'device': {
      const { id, name, kind } = subject.record
      return { id, label, detail: join([kind.replaceAll('_', ' '), name]) }
    }
    case 'container': {
      const { id, kind, epc } = subject.record
      return { id, label, detail: join([`${kind} ${id}`, epc === null ? null : `EPC ${epc}`]) }
    }
  }
}

/**
 * The best `limit` matches for a query: exact matches before prefix matches, then parcels,
 * vehicles, containers, devices, then the closest completion first, then by label. Keeps only the best `limit` while scanning, so a
 * one-letter query over every parcel never sorts them all.
 */
export function search (subjects: Iterable<Subject>, query: string, limit: number): Match[] {
  const needle = query.trim().toLowerCase()
  if (needle === '' || limit < 1) return []
  const kept: Ranked[] = []
  for (const subject of subjects) {
    const match = closeness(keysOf(subject), needle)
    if (match === undefined) continue
    const candidate = { subject, closeness: match, label: labelOf(subject) }
    const worst = kept.at(-1)
    if (kept.length >= limit && worst !== undefined && compare(candidate, worst) >= 0) continue
    kept.splice(insertionPoint(kept, candidate), 0, candidate)
    if (kept.length > limit) kept.pop()
  }
  return kept.map(({ subject, closeness: score }) => ({ subject, rank: score === 0 ? 0 : 1, kind: subject.kind, ...describe(subject) }))
}

function compare (a: Ranked, b: Ranked): number {
  return Math.sign(a.closeness) - Math.sign(b.closeness) ||
    KIND_ORDER[a.subject.kind] - KIND_ORDER[b.subject.kind] ||
    a.closeness - b.closeness ||
    // no collator: this runs once per match, and a two-letter prefix matches every parcel
    order(a.label, b.label) ||
    order(a.subject.record.id, b.subject.record.id)
}

/** After every element that sorts before or with the candidate, so equal ones keep arrival order. */
function insertionPoint (sorted: Ranked[], candidate: Ranked): number {
  let low = 0
  let high = sorted.length
  while (low < high) {
    const middle = (low + high) >>> 1
    const element = sorted[middle]
    if (element !== undefined && compare(element, candidate) <= 0) low = middle + 1
    else high = middle
  }
  return low
}

function order (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function join (parts: Array<string | null>): string {
  return parts.filter((part): part is string => part !== null && part !== '').join(' · ')
}

/**
 * The subjects under each of their keys, folded to lower case and sorted: the subjects a query
 * starts a key of are one range of it, found by binary search, so a query costs the matches it
 * has, not the number of vehicles and devices there are. Immutable: build a new one when the
 * subjects change.
 */
export class PrefixIndex {
  private readonly keys: string[] = []
  private readonly subjects: Subject[] = []

  constructor (subjects: Iterable<Subject>) {
    const entries: Array<[string, Subject]> = []
    for (const subject of subjects) {
      for (const key of keysOf(subject)) if (key !== null) entries.push([key.toLowerCase(), subject])
    }
    entries.sort((a, b) => order(a[0], b[0]))
    for (const [key, subject] of entries) {
      this.keys.push(key)
      this.subjects.push(subject)
    }
  }

  /** Every subject a (trimmed, lower-cased) needle starts a key of, each once; rank them with `search`. */
  candidates (needle: string): Subject[] {
    let low = 0
    let high = this.keys.length
    while (low < high) {
      const middle = (low + high) >>> 1
      if (order(this.keys[middle] as string, needle) < 0) low = middle + 1
      else high = middle
    }
    const found = new Set<Subject>()
    for (let i = low; i < this.keys.length && (this.keys[i] as string).startsWith(needle); i++) found.add(this.subjects[i] as Subject)
    return [...found]
  }
}
