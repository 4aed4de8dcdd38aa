import { describe, expect, it } from 'vitest'
import { markLateFixes } from '../../../../server/pipeline/stages/mark-late.js'
import { testEngine } from '../../../support/engine.js'
import { fixItem, T0 } from './helpers.js'

describe('stage: mark late fixes', () => {
  it('marks a fix older than the device\'s newest as late, and lets it on to be stored', () => {
    const stage = markLateFixes(testEngine())
    const newest = fixItem({ time: T0 + 2000 })
    const older = fixItem({ time: T0 + 1000 })
    expect(stage.run(newest)).toBeUndefined()
    expect(stage.run(older)).toBeUndefined()
    expect([newest.late, older.late]).toEqual([false, true])
    const newer = fixItem({ time: T0 + 3000 })
    stage.run(newer)
    expect(newer.late).toBe(false)
  })
})
