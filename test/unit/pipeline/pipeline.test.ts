import { describe, expect, it } from 'vitest'
import { Registry as MetricsRegistry } from 'prom-client'
import { gs1KeyOf } from '../../../gateway/epc.js'
import type { IngestMessage } from '../../../gateway/ingest-message.js'
import type { FixItem, Stage } from '../../../server/pipeline/items.js'
import { buildStages, Pipeline } from '../../../server/pipeline/pipeline.js'
import { IngestStats } from '../../../server/pipeline/stats.js'
import { testEngine } from '../../support/engine.js'

const T0 = Date.UTC(2026, 10, 23, 3)
const limits = { now: () => T0 + 60_000, maxFutureMs: 300_000, maxAgeMs: 30 * 86_400_000 }

const message = (fixes: IngestMessage['fixes']): IngestMessage =>
  ({ deviceId: 'van-1', topic: 'ts/v1/van-1/fix', payload: Buffer.from('{}'), receivedAt: T0, fixes, scans: [], events: [], driverEvents: [], rejects: [] })

describe('the pipeline', () => {
  const pipeline = (stages = buildStages({ engine: testEngine(), limits, gs1KeyOf }), errors: string[] = []) =>
    new Pipeline(stages, new IngestStats(new MetricsRegistry()), (_error, stage) => { errors.push(stage) })

  it('writes accepted fixes, keeps every refusal with its payload, drops duplicates, and shows only the newest fixes live', () => {
    const { set, rejects, live } = pipeline().process(message([
      { deviceId: 'van-1', time: T0 + 2000, lat: 13.7, lon: 100.5, seq: 2 },
      { deviceId: 'van-1', time: T0 + 1000, lat: 13.6, lon: 100.5, seq: 1 },
      { deviceId: 'van-1', time: T0 + 2000, lat: 13.7, lon: 100.5, seq: 2 },
      { deviceId: 'van-1', time: T0, lat: 0, lon: 0 }
    ]))
    expect(set.fixes.map((f) => f.fix.seq)).toEqual([2, 1])
    expect(live.map((f) => f.fix.seq)).toEqual([2])
    expect(rejects.map((r) => r.reason)).toEqual(['bad_coordinates'])
    expect(set.rejects).toEqual([expect.objectContaining({ deviceId: 'van-1', reasons: ['bad_coordinates'], payload: Buffer.from('{}') })])
  })

  it('refuses an item a stage throws on, keeps it, and goes on with the rest', () => {
    const stages = buildStages({ engine: testEngine(), limits, gs1KeyOf })
    const broken: Stage<FixItem> = { name: 'broken', run: (item) => { if (item.fix.seq === 1) throw new Error('bug'); return undefined } }
    stages.fix.splice(1, 0, broken)
    const errors: string[] = []
    const { set, rejects } = pipeline(stages, errors).process(message([
      { deviceId: 'van-1', time: T0 + 1000, lat: 13.6, lon: 100.5, seq: 1 },
      { deviceId: 'van-1', time: T0 + 2000, lat: 13.7, lon: 100.5, seq: 2 }
    ]))
    expect(errors).toEqual(['broken'])
    expect(rejects).toEqual([expect.objectContaining({ reason: 'stage_failed' })])
    expect(set.fixes.map((f) => f.fix.seq)).toEqual([2])
  })
})
