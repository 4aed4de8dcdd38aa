import { describe, expect, it } from 'vitest'
import { DUPLICATE } from '../../../../server/pipeline/items.js'
import { dedupeFixes, dedupeScans } from '../../../../server/pipeline/stages/dedupe.js'
import { testEngine } from '../../../support/engine.js'
import { fixItem, scanItem, T0 } from './helpers.js'

describe('stage: dedupe', () => {
  it('stops a fix seen before (same device, time and seq) as a duplicate, and lets others on', () => {
    const stage = dedupeFixes(testEngine())
    expect(stage.run(fixItem({ seq: 1 }))).toBeUndefined()
    expect(stage.run(fixItem({ seq: 1 }))).toBe(DUPLICATE)
    expect(stage.run(fixItem({ seq: 2 }))).toBeUndefined()
    expect(stage.run(fixItem({ seq: 1, deviceId: 'van-2' }))).toBeUndefined()
  })

  it('stops a read repeated on the same antenna at the same instant', () => {
    const stage = dedupeScans(testEngine())
    expect(stage.run(scanItem())).toBeUndefined()
    expect(stage.run(scanItem())).toBe(DUPLICATE)
    expect(stage.run(scanItem({ time: T0 + 1 }))).toBeUndefined()
  })
})
