import type { Rejection } from '../rejects.js'

/** What every decoder returns: the good items and, item by item, why the others were refused. */
export interface Decoded<T> {
  items: T[]
  rejects: Rejection[]
}

export function refused<T> (rejects: Rejection[]): Decoded<T> {
  return { items: [], rejects }
}
