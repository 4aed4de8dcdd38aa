import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DueIndex } from '../../../server/engine/due.js'

describe('DueIndex: keys in the order of their due time', () => {
  it('takes what is due, earliest first, and leaves the rest', () => {
    const due = new DueIndex()
    due.schedule('c', 30)
    due.schedule('a', 10)
    due.schedule('b', 20)
    expect(due.takeDue(5)).toEqual([])
    expect(due.takeDue(20)).toEqual(['a', 'b'])
    expect(due.size).toBe(1)
    expect(due.takeDue(100)).toEqual(['c'])
    expect(due.size).toBe(0)
  })

  it('lets a new time supersede the old, and a cancelled key never come due', () => {
    const due = new DueIndex()
    due.schedule('a', 10)
    due.schedule('a', 50)
    due.schedule('b', 20)
    due.cancel('b')
    expect(due.takeDue(40)).toEqual([])
    expect(due.dueAt('a')).toBe(50)
    expect(due.takeDue(50)).toEqual(['a'])
  })

  it('takes at most the limit, and says when the next is due', () => {
    const due = new DueIndex()
    for (let i = 0; i < 10; i++) due.schedule(`k${i}`, i)
    expect(due.takeDue(100, 3)).toEqual(['k0', 'k1', 'k2'])
    expect(due.nextAt()).toBe(3)
  })

  it('agrees with a plain map under any sequence of schedules, cancels and takes', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('schedule' as const), key: fc.integer({ min: 0, max: 20 }), at: fc.integer({ min: 0, max: 1000 }) }),
      fc.record({ kind: fc.constant('cancel' as const), key: fc.integer({ min: 0, max: 20 }) }),
      fc.record({ kind: fc.constant('take' as const), now: fc.integer({ min: 0, max: 1000 }), limit: fc.integer({ min: 1, max: 30 }) })
    )
    fc.assert(fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
      const due = new DueIndex()
      const model = new Map<string, number>()
      for (const o of ops) {
        if (o.kind === 'schedule') {
          due.schedule(`k${o.key}`, o.at)
          model.set(`k${o.key}`, o.at)
        } else if (o.kind === 'cancel') {
          due.cancel(`k${o.key}`)
          model.delete(`k${o.key}`)
        } else {
          const taken = due.takeDue(o.now, o.limit)
          const expected = [...model].filter(([, at]) => at <= o.now).sort((a, b) => a[1] - b[1]).slice(0, o.limit)
          // equal times may come in either order: compare times, then the sets
          expect(taken.map((key) => model.get(key))).toEqual(expected.map(([, at]) => at))
          for (const key of taken) model.delete(key)
        }
        expect(due.size).toBe(model.size)
      }
    }))
  })
})
