import { describe, expect, it } from 'vitest'
import { Events } from '../../../server/engine/events.js'
import type { MilestoneRow } from '../../../server/model.js'

const ROW: MilestoneRow = { parcelId: 'p1', code: 'loaded', time: 1, stationId: null, lat: null, lon: null, source: 'rfid', deviceId: 'dock-1', vehicleId: 'V1', detail: null, note: null }

describe('the engine\'s events: a typed map whose emit isolates each listener', () => {
  it('delivers each payload to every listener of its event, and none of another', () => {
    const failures: unknown[] = []
    const events = new Events((_event, error) => { failures.push(error) })
    const committed: Array<readonly MilestoneRow[]> = []
    let positions = 0
    events.on('committed', (rows) => { committed.push(rows) })
    events.on('positions', () => { positions++ })
    events.emit('committed', [ROW])
    expect(committed).toEqual([[ROW]])
    expect(positions).toBe(0)
    expect(failures).toEqual([])
  })

  it('reports a listener that throws, never throws at the emitter, and still runs the listeners after it', () => {
    const failures: Array<{ event: string, message: string }> = []
    const events = new Events((event, error) => { failures.push({ event: String(event), message: (error as Error).message }) })
    const heard: string[] = []
    events.on('committed', () => { heard.push('first') })
    events.on('committed', () => { throw new Error('the ETA listener has a bug') })
    events.on('committed', () => { heard.push('third') })
    expect(() => { events.emit('committed', [ROW]) }).not.toThrow()
    expect(heard).toEqual(['first', 'third'])
    expect(failures).toEqual([{ event: 'committed', message: 'the ETA listener has a bug' }])
    // and again on the next emit: a failing listener is not dropped silently either
    events.emit('committed', [ROW])
    expect(failures).toHaveLength(2)
  })

  it('stops calling a listener once it unsubscribes', () => {
    const events = new Events(() => {})
    let calls = 0
    const off = events.on('positions', () => { calls++ })
    events.emit('positions', [])
    off()
    events.emit('positions', [])
    expect(calls).toBe(1)
  })
})
