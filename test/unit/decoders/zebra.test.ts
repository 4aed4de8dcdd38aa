import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { DecodeContext, DecodedBatch } from '../../../gateway/decoders/format.js'
import { decodeZebra as decodeZebraUnchecked } from '../../../gateway/decoders/zebra.js'
import { REJECT_REASONS } from '../../../gateway/rejects.js'
import { checkScan, type ValidationLimits } from '../../../server/pipeline/stages/validate.js'
import { sane } from '../../support/sane.js'

/** Every fix and scan it returns passes the decoders' shared sanity check. */
const decodeZebra = sane(decodeZebraUnchecked)

const FIXTURES = fileURLToPath(new URL('../../fixtures/zebra/', import.meta.url))
const LIMITS: ValidationLimits = { now: () => Date.UTC(2026, 10, 23), maxFutureMs: 300_000, maxAgeMs: 100 * 365 * 86_400_000 }
const CONTEXT: DecodeContext = { deviceId: 'fx-dock', topic: 'ziotc/fx-dock/data', receivedAt: Date.UTC(2026, 10, 23, 3, 0, 0) }

function fixture (name: string): Buffer {
  return readFileSync(join(FIXTURES, name))
}

function decode (payload: string | Buffer): DecodedBatch {
  return decodeZebra(typeof payload === 'string' ? Buffer.from(payload) : payload, CONTEXT)
}

function tagEvent (timestamp: unknown, data: Record<string, unknown> = {}): string {
  return JSON.stringify({ data: { eventNum: 1, format: 'epc', idHex: 'e28011700000020d2a412182', antenna: 1, peakRssi: -60, ...data }, timestamp, type: 'SIMPLE' })
}

describe('Zebra IoT Connector, real capture', () => {
  it('decodes the FXR90 CUSTOM event: no antenna or RSSI, a -0600 offset without colon', () => {
    const batch = decode(fixture('ultra-tracker-fxr90-custom-event.json'))
    expect(batch).toEqual({
      fixes: [],
      scans: [{ readerId: 'fx-dock', antenna: 0, epc: '000000000000000000000343', time: Date.UTC(2024, 8, 5, 7, 7, 1, 785) }],
      events: [],
      driverEvents: [],
      rejects: []
    })
    expect(batch.scans.map((scan) => checkScan(scan, LIMITS))).toEqual([undefined])
  })
})

describe('Zebra IoT Connector, documented format', () => {
  it('decodes the documented SIMPLE event, upper-casing idHex, peakRssi in whole dBm', () => {
    const batch = decode(fixture('constructed-simple-event.json'))
    expect(batch).toEqual({
      fixes: [],
      scans: [{ readerId: 'fx-dock', antenna: 2, epc: '3074257BF7194E4000001A85', rssi: -58, time: Date.UTC(2021, 0, 22, 2, 19, 34, 684) }],
      events: [],
      driverEvents: [],
      rejects: []
    })
    expect(batch.scans.map((scan) => checkScan(scan, LIMITS))).toEqual([undefined])
  })

  it('decodes an HTTP POST batch in order', () => {
    const batch = decode(fixture('constructed-http-post-batch.json'))
    expect(batch.scans).toEqual([
      { readerId: 'fx-dock', antenna: 1, epc: '3154257BF4499602D2000000', rssi: -61, time: Date.UTC(2023, 1, 24, 10, 14, 42, 851) },
      { readerId: 'fx-dock', antenna: 4, epc: 'E28011700000020D2A412182', rssi: -70, time: Date.UTC(2023, 1, 24, 10, 14, 43, 2) }
    ])
    expect(batch.rejects).toEqual([])
    expect(batch.scans.map((scan) => checkScan(scan, LIMITS))).toEqual([undefined, undefined])
  })

  it('splits stream output joined as }{ and by blank lines, even with braces inside strings', () => {
    const batch = decode(fixture('constructed-stream-concatenated.txt'))
    expect(batch.scans).toEqual([
      { readerId: 'fx-dock', antenna: 1, epc: '3154257BF4499602D2000000', rssi: -55, time: Date.UTC(2023, 1, 24, 10, 0, 0, 1) },
      { readerId: 'fx-dock', antenna: 2, epc: 'E28011700000020D2A412182', rssi: -66, time: Date.UTC(2023, 1, 24, 10, 0, 0, 120) },
      { readerId: 'fx-dock', antenna: 1, epc: '7B7D', rssi: -70, time: Date.UTC(2023, 1, 24, 10, 0, 0, 300) }
    ])
    expect(batch.rejects).toEqual([])
  })

  it('splits an array followed by an object', () => {
    const batch = decode(`[${tagEvent('2023-02-24T10:00:00.000+0000')}]\r\n${tagEvent('2023-02-24T10:00:01.000+0000')}`)
    expect(batch.scans.map((scan) => scan.time)).toEqual([Date.UTC(2023, 1, 24, 10, 0, 0), Date.UTC(2023, 1, 24, 10, 0, 1)])
  })

  it('turns a heartbeat into a heartbeat event carrying each antenna\'s state, not a refusal', () => {
    const batch = decode(fixture('constructed-heartbeat.json'))
    expect(batch.rejects).toEqual([])
    expect(batch.events).toEqual([{
      deviceId: 'fx-dock',
      time: Date.UTC(2023, 1, 24, 10, 19, 57, 878),
      type: 'heartbeat',
      detail: { status: 'running', uptime: '0:02:14', 'antenna.1': 'connected', 'antenna.2': 'disconnected', 'antenna.3': 'connected', 'antenna.4': 'connected' }
    }])
  })

  it('turns GPI events into pin states, whatever the case of type and state', () => {
    expect(decode(fixture('constructed-gpi.json')).events).toEqual([
      { deviceId: 'fx-dock', time: Date.UTC(2023, 1, 24, 10, 20, 1, 3), type: 'gpi', detail: { pin: 1, state: 'high' } }
    ])
    const upper = decode(JSON.stringify({ data: { pin: 3, state: 'low' }, timestamp: '2023-02-24T10:20:01.003+0000', type: 'GPI' }))
    expect(upper.events.map((e) => [e.type, e.detail])).toEqual([['gpi', { pin: 3, state: 'low' }]])
  })

  it('keeps errors and warnings as reader alerts with their message', () => {
    expect(decode(fixture('constructed-error.json')).events).toEqual([
      { deviceId: 'fx-dock', time: Date.UTC(2023, 1, 24, 10, 20, 2, 500), type: 'reader_alert', detail: { level: 'error', message: 'antenna 2 disconnected' } }
    ])
  })

  it('refuses a management event it cannot read with the reason, and an unknown type as unsupported', () => {
    expect(decode(JSON.stringify({ data: { pin: 'one', state: 'HIGH' }, timestamp: '2023-02-24T10:20:01.003+0000', type: 'gpi' })).rejects)
      .toEqual([{ reason: 'invalid_event', detail: 'gpi event: data.pin is not a pin number' }])
    expect(decode(JSON.stringify({ data: {}, timestamp: 'now', type: 'heartbeat' })).rejects)
      .toEqual([{ reason: 'invalid_event', detail: 'heartbeat event: timestamp "now" is not an ISO 8601 time' }])
    expect(decode(JSON.stringify({ data: {}, timestamp: '2023-02-24T10:20:01.003+0000', type: 'mystery' })).rejects)
      .toEqual([{ reason: 'unsupported_message', detail: 'event type "mystery"' }])
  })

  it.each([
    ['-0600', '2021-01-21T20:19:34.684-0600', Date.UTC(2021, 0, 22, 2, 19, 34, 684)],
    ['-06:00', '2021-01-21T20:19:34.684-06:00', Date.UTC(2021, 0, 22, 2, 19, 34, 684)],
    ['+0530', '2021-01-22T07:49:34.684+0530', Date.UTC(2021, 0, 22, 2, 19, 34, 684)],
    ['+0000', '2021-01-22T02:19:34.684+0000', Date.UTC(2021, 0, 22, 2, 19, 34, 684)],
    ['Z', '2021-01-22T02:19:34.684Z', Date.UTC(2021, 0, 22, 2, 19, 34, 684)],
    ['-0600 across midnight and a year', '2021-12-31T23:30:00.000-0600', Date.UTC(2022, 0, 1, 5, 30, 0)]
  ])('reads the offset %s', (_name, timestamp, time) => {
    expect(decode(tagEvent(timestamp)).scans.map((scan) => scan.time)).toEqual([time])
  })

  it('takes the ATR7000 rssi when there is no peakRssi', () => {
    expect(decode(tagEvent('2023-02-24T10:00:00.000+0000', { peakRssi: undefined, rssi: -47 })).scans.map((scan) => scan.rssi)).toEqual([-47])
  })

  it('refuses fields of the wrong type, naming the event', () => {
    const batch = decode(`[${tagEvent('2023-02-24T10:00:00.000+0000', { idHex: 7 })},${tagEvent('2023-02-24T10:00:00.000+0000', { antenna: '1' })},${tagEvent('2023-02-24T10:00:00.000+0000', { peakRssi: '-50' })},${tagEvent(undefined)},${tagEvent('24/02/2023 10:00')}]`)
    expect(batch.rejects).toEqual([
      { reason: 'invalid_scan', detail: 'event 0: idHex is not a string' },
      { reason: 'invalid_scan', detail: 'event 1: antenna is not a number' },
      { reason: 'invalid_scan', detail: 'event 2: peakRssi is not a number' },
      { reason: 'invalid_scan', detail: 'event 3: timestamp (missing) is not an ISO 8601 time' },
      { reason: 'invalid_scan', detail: 'event 4: timestamp "24/02/2023 10:00" is not an ISO 8601 time' }
    ])
  })

  it('refuses broken stream output as malformed_json', () => {
    const one = tagEvent('2023-02-24T10:00:00.000+0000')
    expect(decode(`${one}x${one}`).rejects.map((r) => r.reason)).toEqual(['malformed_json'])
    expect(decode(`${one}{"data":{"idHex":`).rejects.map((r) => r.reason)).toEqual(['malformed_json'])
    expect(decode(`${one}}{`).rejects.map((r) => r.reason)).toEqual(['malformed_json'])
    expect(decode(`${one}{"data":1]`).rejects).toEqual([{ reason: 'malformed_json', detail: expect.stringMatching(/^value 1: /) as string }])
  })

  it('refuses an empty payload and an empty batch, and items that are not objects', () => {
    expect(decode(' \n').rejects).toEqual([{ reason: 'empty_batch', detail: 'the payload is empty' }])
    expect(decode('[]').rejects).toEqual([{ reason: 'empty_batch', detail: 'the payload is an empty array' }])
    expect(decode('[null]').rejects).toEqual([{ reason: 'invalid_scan', detail: 'not a JSON object' }])
  })
})

describe('Zebra decoder on garbage', () => {
  it('never throws on mutated payloads, and never emits a NaN time', () => {
    const seeds = ['ultra-tracker-fxr90-custom-event.json', 'constructed-simple-event.json', 'constructed-http-post-batch.json', 'constructed-stream-concatenated.txt'].map(fixture)
    const random = mulberry32(0x5eed)
    for (let round = 0; round < 3000; round++) {
      const seed = seeds[round % seeds.length] ?? Buffer.alloc(0)
      const batch = decodeZebra(mutate(seed, random), CONTEXT)
      for (const scan of batch.scans) {
        expect(Number.isFinite(scan.time)).toBe(true)
        expect(typeof scan.epc).toBe('string')
      }
      for (const reject of batch.rejects) expect(Object.keys(REJECT_REASONS)).toContain(reject.reason)
    }
  })
})

function mulberry32 (seed: number): () => number {
  let state = seed
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** One to three random byte flips, cuts, insertions or duplications of a real payload. */
function mutate (seed: Buffer, random: () => number): Buffer {
  let bytes = Buffer.from(seed)
  const at = (): number => Math.floor(random() * (bytes.length + 1))
  for (let n = 1 + Math.floor(random() * 3); n > 0; n--) {
    const choice = random()
    const i = at()
    if (choice < 0.3 && bytes.length > 0) bytes[Math.min(i, bytes.length - 1)] = Math.floor(random() * 256)
    else if (choice < 0.5) bytes = bytes.subarray(0, i)
    else if (choice < 0.75) bytes = Buffer.concat([bytes.subarray(0, i), Buffer.from('{}[]",:0-.eE9zZ\\'.charAt(Math.floor(random() * 16))), bytes.subarray(i)])
    else bytes = Buffer.concat([bytes.subarray(0, i), bytes.subarray(Math.floor(random() * bytes.length))])
  }
  return bytes
}
