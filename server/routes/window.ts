import { Errors } from '../errors.js'

const DAY_MS = 86_400_000

/** A report's time window from its query: up to `to` (default now), from `from` (default `days` before `to`). */
export function reportWindow (query: { from?: string, to?: string }, now: number, days = 30): { from: Date, to: Date } {
  const to = query.to === undefined ? new Date(now) : new Date(query.to)
  const from = query.from === undefined ? new Date(to.getTime() - days * DAY_MS) : new Date(query.from)
  if (from >= to) throw new Errors.BadShape('from must be before to')
  return { from, to }
}
