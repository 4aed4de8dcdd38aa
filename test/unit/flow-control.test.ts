import { setImmediate as nextTurn } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { InflightBudget } from '../../gateway/flow-control.js'

describe('InflightBudget', () => {
  it('allows a connection the per-device limit, and no more while nothing is answered', () => {
    const budget = new InflightBudget(3, 100)
    const flow = budget.open()
    expect(flow.allowance()).toBe(3)
    flow.took(2)
    expect(flow.allowance()).toBe(1)
    flow.took(1)
    expect(flow.allowance()).toBe(0)
    flow.enter()
    flow.answer()
    expect(flow.allowance()).toBe(1)
    expect(budget.inflight).toBe(2)
  })

  it('shares the overall limit between connections', () => {
    const budget = new InflightBudget(10, 12)
    const [a, b] = [budget.open(), budget.open()]
    a.took(10)
    expect(b.allowance()).toBe(2)
    b.took(2)
    expect(budget.exhausted).toBe(true)
    expect(b.allowance()).toBe(0)
  })

  it('wakes a connection stopped by the overall limit once another one\'s message is answered', async () => {
    const budget = new InflightBudget(10, 10)
    const [busy, starved] = [budget.open(), budget.open()]
    busy.took(10)
    let woken = 0
    starved.waitFor(() => { woken++ })
    await nextTurn()
    expect(woken).toBe(0)
    busy.enter()
    busy.answer()
    await nextTurn()
    expect(woken).toBe(1)
    expect(starved.allowance()).toBe(1)
  })

  it('wakes only as many waiting connections as there is room for, oldest first, counting those woken but not yet back', async () => {
    const budget = new InflightBudget(10, 10)
    const busy = budget.open()
    busy.took(10)
    const woken: string[] = []
    for (const name of ['a', 'b', 'c']) budget.open().waitFor(() => { woken.push(name) })
    busy.enter()
    busy.answer()
    busy.enter()
    busy.answer()
    await nextTurn()
    expect(woken).toEqual(['a', 'b'])
  })

  it('does not register a connection stopped only by its own limit: the broker reads it again as its packets finish', () => {
    const budget = new InflightBudget(1, 10)
    const flow = budget.open()
    flow.took(1)
    let woken = false
    flow.waitFor(() => { woken = true })
    const other = budget.open()
    other.took(1)
    other.enter()
    other.answer()
    expect(woken).toBe(false)
  })

  it('counts every connection of a device against the device\'s one limit, from when it authenticates', () => {
    const budget = new InflightBudget(5, 100)
    const [first, second] = [budget.open(), budget.open()]
    first.took(2)
    first.attach('van-1')
    expect(first.allowance()).toBe(3)
    second.attach('van-1')
    second.took(3)
    expect(first.allowance()).toBe(0)
    expect(second.allowance()).toBe(0)
    // a reconnect while the old connection's messages wait for their commit gets no fresh allowance
    first.enter()
    first.enter()
    first.close()
    const third = budget.open()
    third.attach('van-1')
    expect(third.allowance()).toBe(0)
    first.answer()
    expect(third.allowance()).toBe(1)
    expect(budget.open().allowance()).toBe(5)
  })

  it('on close, gives back what was read but never reached the broker, and keeps what is still being committed', () => {
    const budget = new InflightBudget(10, 100)
    const flow = budget.open()
    flow.took(5)
    flow.enter()
    flow.enter()
    flow.close()
    expect(budget.inflight).toBe(2)
    expect(flow.allowance()).toBe(0)
    flow.answer()
    flow.answer()
    expect(budget.inflight).toBe(0)
  })

  it('holds and releases HTTP messages once each', () => {
    const budget = new InflightBudget(10, 2)
    const release = budget.hold()
    budget.hold()
    expect(budget.exhausted).toBe(true)
    release()
    release()
    expect(budget.inflight).toBe(1)
  })
})
