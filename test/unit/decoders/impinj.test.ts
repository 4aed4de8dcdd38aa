import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { decodeImpinj as decodeImpinjUnchecked } from '../../../gateway/decoders/impinj.js'
import type { DecodeContext, DecodedBatch } from '../../../gateway/decoders/format.js'
import { REJECT_REASONS } from '../../../gateway/rejects.js'
import { checkScan, type ValidationLimits } from '../../../server/pipeline/stages/validate.js'
import { sane } from '../../support/sane.js'

/** Every fix and scan it returns passes the decoders' shared sanity check. */
const decodeImpinj = sane(decodeImpinjUnchecked)

const FIXTURES = fileURLToPath(new URL('../../fixtures/impinj/', import.meta.url))
const SHARED = join(process.env.TRACKSTREAM_REALDATA ?? '/work/shared/realdata', 'vendor-samples/impinj')
const hasShared = existsSync(SHARED)
if (!hasShared) console.warn(`impinj tests: ${SHARED} is absent, so the real R700 capture (not redistributable) is skipped`)

const RECEIVED = Date.UTC(2026, 10, 23, 3, 0, 0)
const LIMITS: ValidationLimits = { now: () => Date.UTC(2026, 10, 23), maxFutureMs: 300_000, maxAgeMs: 100 * 365 * 86_400_000 }
const CONTEXT: DecodeContext = { deviceId: 'r700-dock', topic: 'impinj/r700-dock/events', receivedAt: RECEIVED }

function fixture (name: string): Buffer {
  return readFileSync(join(FIXTURES, name))
}

function decode (payload: string | Buffer): DecodedBatch {
  return decodeImpinj(typeof payload === 'string' ? Buffer.from(payload) : payload, CONTEXT)
}

function event (fields: Record<string, unknown>, inventory: Record<string, unknown> = {}): string {
  return JSON.stringify({ timestamp: '2024-03-14T09:26:53.589Z', ...fields, tagInventoryEvent: { epcHex: '3074257BF7194E4000001A85', antennaPort: 1, ...inventory } })
}

describe('Impinj IoT device interface, real capture', () => {
  it.skipIf(!hasShared)('decodes the R700 HTTP-stream tag read: epcHex, centi-dBm, 9 fractional digits', () => {
    const batch = decode(readFileSync(join(SHARED, 'r700-http-stream-tag-inventory.json')))
    expect(batch).toEqual({
      fixes: [],
      scans: [{ readerId: 'r700-dock', antenna: 1, epc: 'E2801190A5021F80055817CA', rssi: -26.5, time: Date.UTC(2021, 6, 9, 23, 35, 59, 278) }],
      events: [],
      driverEvents: [],
      rejects: []
    })
    expect(batch.scans.map((scan) => checkScan(scan, LIMITS))).toEqual([undefined])
  })
})

describe('Impinj IoT device interface, documented format', () => {
  it('decodes a base64 epc from an MQTT event and truncates nanoseconds to the millisecond', () => {
    const batch = decode(fixture('constructed-mqtt-tag-inventory-base64-epc.json'))
    expect(batch).toEqual({
      fixes: [],
      scans: [{ readerId: 'r700-dock', antenna: 2, epc: '3154257BF4499602D2000000', rssi: -61.5, time: Date.UTC(2024, 2, 14, 9, 26, 53, 589) }],
      events: [],
      driverEvents: [],
      rejects: []
    })
    expect(batch.scans.map((scan) => checkScan(scan, LIMITS))).toEqual([undefined])
  })

  it('decodes a webhook batch in order, the inventory status among the reads as an event of the reader', () => {
    const batch = decode(fixture('constructed-webhook-batch.json'))
    expect(batch.scans).toEqual([
      { readerId: 'r700-dock', antenna: 1, epc: '3074257BF7194E4000001A85', rssi: -48.75, time: Date.UTC(2024, 2, 14, 9, 27, 1, 500) },
      // epcHex wins over epc; +02:00 is two hours ahead of UTC
      { readerId: 'r700-dock', antenna: 3, epc: 'E28011700000020D2A412182', rssi: -70, time: Date.UTC(2024, 2, 14, 9, 27, 3, 250) }
    ])
    expect(batch.rejects).toEqual([])
    expect(batch.events).toEqual([{ deviceId: 'r700-dock', time: Date.UTC(2024, 2, 14, 9, 27, 2), type: 'inventory_status', detail: { status: 'idle' } }])
    expect(batch.scans.map((scan) => checkScan(scan, LIMITS))).toEqual([undefined, undefined])
  })

  it('reads a GPI transition from its …Event key when eventType is absent (REST API 1.5 firmware)', () => {
    expect(decode(fixture('constructed-gpi-transition-no-event-type.json'))).toEqual({
      fixes: [], scans: [], driverEvents: [], rejects: [],
      events: [{ deviceId: 'r700-dock', time: Date.UTC(2024, 2, 14, 9, 31, 0, 250), type: 'gpi', detail: { pin: 1, state: 'high' } }]
    })
  })

  it('turns antenna events into antenna_connected and antenna_disconnected of their port', () => {
    expect(decode(fixture('constructed-antenna-disconnected.json')).events).toEqual([
      { deviceId: 'r700-dock', time: Date.UTC(2024, 2, 14, 9, 30, 0, 123), type: 'antenna_disconnected', detail: { port: 2 } }
    ])
    expect(decode(fixture('constructed-antenna-connected.json')).events).toEqual([
      { deviceId: 'r700-dock', time: Date.UTC(2024, 2, 14, 9, 41, 12, 500), type: 'antenna_connected', detail: { port: 2 } }
    ])
  })

  it('turns inventory status and termination into inventory_status', () => {
    expect(decode(fixture('constructed-inventory-status.json')).events.map((e) => e.detail)).toEqual([{ status: 'idle' }])
    expect(decode(JSON.stringify({ timestamp: '2024-03-14T09:30:05Z', inventoryTerminatedEvent: {} })).events.map((e) => e.detail)).toEqual([{ status: 'terminated' }])
  })

  it('keeps an overflow, which means lost reads, as a warning', () => {
    expect(decode(fixture('constructed-overflow.json')).events.map((e) => [e.type, e.detail])).toEqual([
      ['reader_alert', { level: 'warning', message: 'the reader\'s event queue overflowed: 1200 events were purged' }]
    ])
  })

  it('takes the webhook\'s empty batch as its keep-alive: a heartbeat at receipt, not a refusal', () => {
    expect(decode(fixture('constructed-webhook-keepalive.json'))).toEqual({
      fixes: [], scans: [], driverEvents: [], rejects: [],
      events: [{ deviceId: 'r700-dock', time: RECEIVED, type: 'heartbeat', detail: { via: 'webhook' } }]
    })
  })

  it('reads a tag at its lastSeenTime when the reader sends one, not at the envelope\'s timestamp', () => {
    expect(decode(fixture('constructed-tag-inventory-last-seen-time.json')).scans.map((scan) => scan.time)).toEqual([Date.UTC(2024, 2, 14, 9, 26, 51, 123)])
    expect(decode(event({}, { lastSeenTime: 'soon' })).rejects).toEqual([{ reason: 'invalid_scan', detail: 'lastSeenTime "soon" is not an ISO 8601 time' }])
  })

  it('refuses housekeeping it cannot read with the reason, and kinds it does not use as unsupported', () => {
    expect(decode(JSON.stringify({ timestamp: '2024-03-14T09:30:00Z', antennaDisconnectedEvent: {} })).rejects)
      .toEqual([{ reason: 'invalid_event', detail: 'antennaDisconnectedEvent has no antennaPort from 1 up' }])
    expect(decode(JSON.stringify({ antennaConnectedEvent: { antennaPort: 1 } })).rejects)
      .toEqual([{ reason: 'invalid_event', detail: 'antennaConnected: timestamp (missing) is not an ISO 8601 time' }])
    expect(decode(JSON.stringify({ timestamp: '2024-03-14T09:30:00Z', tagLocationEntryEvent: { epc: 'AAAA' } })).rejects)
      .toEqual([{ reason: 'unsupported_message', detail: 'ReaderEvent kind "tagLocationEntry"' }])
  })

  it('accepts the URL-safe base64 alphabet in epc', () => {
    const batch = decode(event({}, { epcHex: undefined, epc: '4oARkaUDAGXybMv_' }))
    expect(batch.scans.map((scan) => scan.epc)).toEqual(['E2801191A5030065F26CCBFF'])
  })

  it('refuses an epc that is not base64 instead of decoding the characters it knows', () => {
    const batch = decode(event({}, { epcHex: undefined, epc: 'MVQle/RJ lgLS!' }))
    expect(batch.rejects).toEqual([{ reason: 'invalid_scan', detail: 'tagInventoryEvent has no epcHex, and no epc in base64 (a TID-only report?)' }])
  })

  it('refuses a TID-only report', () => {
    const batch = decode(event({}, { epcHex: undefined, tidHex: 'E2801170200014CD9B5A08EC' }))
    expect(batch.rejects.map((r) => r.reason)).toEqual(['invalid_scan'])
  })

  it('keeps 999 ms of .999999999 rather than rounding into the next second', () => {
    const batch = decode(event({ timestamp: '2024-12-31T23:59:59.999999999Z' }))
    expect(batch.scans.map((scan) => scan.time)).toEqual([Date.UTC(2024, 11, 31, 23, 59, 59, 999)])
  })

  it('reads a timestamp without fraction, and one with an offset', () => {
    const batch = decode(`[${event({ timestamp: '2024-03-14T09:26:53Z' })},${event({ timestamp: '2024-03-14T04:26:53.1-05:00' })}]`)
    expect(batch.scans.map((scan) => scan.time)).toEqual([Date.UTC(2024, 2, 14, 9, 26, 53), Date.UTC(2024, 2, 14, 9, 26, 53, 100)])
  })

  it.each([
    ['missing', undefined, 'timestamp (missing) is not an ISO 8601 time'],
    ['not a date', 'yesterday', 'timestamp "yesterday" is not an ISO 8601 time'],
    ['impossible', '2024-02-30T10:00:00Z', 'timestamp "2024-02-30T10:00:00Z" is not an ISO 8601 time'],
    ['epoch number', 1710408413, 'timestamp 1710408413 is not an ISO 8601 time'],
    ['no zone', '2024-03-14T09:26:53.589', 'timestamp "2024-03-14T09:26:53.589" is not an ISO 8601 time']
  ])('refuses a timestamp that is %s, never producing NaN', (_name, timestamp, detail) => {
    const batch = decode(event({ timestamp }))
    expect(batch).toEqual({ fixes: [], scans: [], events: [], driverEvents: [], rejects: [{ reason: 'invalid_scan', detail }] })
  })

  it('takes a missing antennaPort as antenna 0 and leaves a missing RSSI unset', () => {
    const batch = decode(event({}, { antennaPort: undefined }))
    expect(batch.scans).toEqual([{ readerId: 'r700-dock', antenna: 0, epc: '3074257BF7194E4000001A85', time: Date.UTC(2024, 2, 14, 9, 26, 53, 589) }])
  })

  it('refuses fields of the wrong type', () => {
    const batch = decode(`[${event({}, { antennaPort: '1' })},${event({}, { peakRssiCdbm: '-4200' })},${event({}, { epcHex: 42 })}]`)
    expect(batch.rejects).toEqual([
      { reason: 'invalid_scan', detail: 'event 0: antennaPort is not a number' },
      { reason: 'invalid_scan', detail: 'event 1: peakRssiCdbm is not a number' },
      { reason: 'invalid_scan', detail: 'event 2: tagInventoryEvent has no epcHex, and no epc in base64 (a TID-only report?)' }
    ])
  })

  it('refuses a tagInventory event without its tagInventoryEvent object', () => {
    const batch = decode(JSON.stringify({ timestamp: '2024-03-14T09:26:53Z', eventType: 'tagInventory' }))
    expect(batch.rejects).toEqual([{ reason: 'invalid_scan', detail: 'eventType tagInventory without a tagInventoryEvent object' }])
  })

  it('refuses array items that are not objects', () => {
    expect(decode('[1, "x"]').rejects).toEqual([
      { reason: 'invalid_scan', detail: 'event 0: not a JSON object' },
      { reason: 'invalid_scan', detail: 'event 1: not a JSON object' }
    ])
  })
})

describe('Impinj MQTT will and broken payloads', () => {
  it('turns "connection lost" into an offline event at the receive time', () => {
    expect(decode('connection lost')).toEqual({
      fixes: [],
      scans: [],
      events: [{ deviceId: 'r700-dock', time: RECEIVED, type: 'offline', detail: { status: 'connection lost' } }],
      driverEvents: [],
      rejects: []
    })
  })

  it('takes the will topic\'s "connected" as online, and refuses other plain text as unsupported', () => {
    expect(decode('connected').events).toEqual([{ deviceId: 'r700-dock', time: RECEIVED, type: 'online', detail: { status: 'connected' } }])
    expect(decode('reader rebooting').rejects).toEqual([{ reason: 'unsupported_message', detail: 'plain-text reader status "reader rebooting"' }])
  })

  it('refuses broken JSON as malformed_json', () => {
    expect(decode('{"timestamp":"2024-03-14T09:26:53Z","tagInventoryEvent":{').rejects.map((r) => r.reason)).toEqual(['malformed_json'])
  })

  it('refuses an empty payload', () => {
    expect(decode('').rejects).toEqual([{ reason: 'empty_batch', detail: 'the payload is empty' }])
  })
})

describe('Impinj decoder on garbage', () => {
  it('never throws on mutated payloads, and never emits a NaN time', () => {
    const seeds = [fixture('constructed-mqtt-tag-inventory-base64-epc.json'), fixture('constructed-webhook-batch.json'), Buffer.from('connection lost')]
    const random = mulberry32(0x1a2b3c)
    for (let round = 0; round < 3000; round++) {
      const seed = seeds[round % seeds.length] ?? Buffer.alloc(0)
      const batch = decodeImpinj(mutate(seed, random), CONTEXT)
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
