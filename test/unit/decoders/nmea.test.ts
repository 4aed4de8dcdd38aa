import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { DecodeContext, DecodedBatch } from '../../../gateway/decoders/format.js'
import { decodeNmea as decodeNmeaUnchecked } from '../../../gateway/decoders/nmea.js'
import { REJECT_REASONS } from '../../../gateway/rejects.js'
import type { Fix } from '../../../proto/types.js'
import { checkFix, type ValidationLimits } from '../../../server/pipeline/stages/validate.js'
import { sane } from '../../support/sane.js'

/** Every fix and scan it returns passes the decoders' shared sanity check. */
const decodeNmea = sane(decodeNmeaUnchecked)

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/nmea')
const KNOT = 1852 / 3600
// the latest capture is from 2020-03-18
const NOW = Date.UTC(2026, 0, 1)
const limits: ValidationLimits = { now: () => NOW, maxFutureMs: 300_000, maxAgeMs: 100 * 365 * 86_400_000 }
const CONTEXT: DecodeContext = { deviceId: 'gps-1', topic: null, receivedAt: NOW }
const LOGS = ['bu353-glonass.log', 'garmin17n.log', 'holux-gm-210.log', 'mtk-3329.log', 'nmea-fuzzy-cases.log']

interface Tpv { mode: number, time?: string, lat?: number, lon?: number, speed?: number, track?: number, alt?: number }

/**
 * A gpsd test log as a device would send it: gpsd's # comment lines are blanked (gpsfake skips
 * them too), keeping the line numbers of the file.
 */
function log (name: string): Buffer {
  return Buffer.from(readFileSync(path.join(FIXTURES, name), 'latin1').replace(/^#.*$/gm, ''), 'latin1')
}

/** gpsd's expected reports with a 2D or 3D fix and a time: the last, most complete, for each time. */
function expectedFixes (name: string): Tpv[] {
  const byTime = new Map<string, Tpv>()
  for (const line of readFileSync(path.join(FIXTURES, `${name}.chk`), 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue
    const report = JSON.parse(line) as Tpv & { class: string }
    if (report.class === 'TPV' && report.mode >= 2 && report.time !== undefined) byTime.set(report.time, report)
  }
  return [...byTime.values()]
}

function decode (text: string, context: DecodeContext = CONTEXT): DecodedBatch {
  return decodeNmea(Buffer.from(text, 'latin1'), context)
}

/** Appends the checksum, so the synthetic cases below are well-formed sentences. */
function sentence (body: string): string {
  let sum = 0
  for (const char of body) sum ^= char.charCodeAt(0)
  return `$${body}*${sum.toString(16).toUpperCase().padStart(2, '0')}`
}

function reasons (batch: DecodedBatch): string[] {
  return batch.rejects.map((r) => r.reason)
}

describe('NMEA: gpsd test logs against gpsd\'s expected output', () => {
  it.each(LOGS)('%s: one fix per gpsd 2D/3D report, same time, position, speed, track and altitude', (name) => {
    const batch = decodeNmea(log(name), CONTEXT)
    const expected = expectedFixes(name)
    expect(batch.fixes.map((fix) => new Date(fix.time).toISOString())).toEqual(expected.map((tpv) => tpv.time))
    batch.fixes.forEach((fix, i) => {
      const tpv = expected[i]
      if (tpv === undefined) throw new Error(`no gpsd report for fix ${i}`)
      expect(Math.abs(fix.lat - (tpv.lat ?? Number.NaN))).toBeLessThan(1e-6)
      expect(Math.abs(fix.lon - (tpv.lon ?? Number.NaN))).toBeLessThan(1e-6)
      // gpsd prints speed to 3 decimals and track to 4
      if (tpv.speed !== undefined) expect(Math.abs((fix.speed ?? Number.NaN) - tpv.speed)).toBeLessThanOrEqual(0.0005 + 1e-9)
      if (tpv.track !== undefined) expect(fix.heading).toBeCloseTo(tpv.track, 4)
      if (tpv.alt === undefined) expect(fix.altitude).toBeUndefined()
      else expect(fix.altitude).toBeCloseTo(tpv.alt, 4)
      expect(fix.deviceId).toBe('gps-1')
      expect(checkFix(fix, limits)).toBeUndefined()
    })
  })

  it('bu353: GNRMC and the GPGGA of the same second, three lines apart, merge into one exact fix', () => {
    const fix = decodeNmea(log('bu353-glonass.log'), CONTEXT).fixes[1]
    expect(fix).toEqual({
      deviceId: 'gps-1', time: Date.UTC(2014, 4, 26, 8, 14, 12), lat: 55 + 41.1956 / 60, lon: 37 + 37.2877 / 60, speed: 0.52 * KNOT, heading: 301.26, altitude: 66.2
    })
  })

  it('bu353: losing the fix gives GGA quality 0 and RMC status V, refused as no_position', () => {
    const batch = decodeNmea(log('bu353-glonass.log'), CONTEXT)
    expect(batch.fixes).toHaveLength(9)
    expect(reasons(batch)).toEqual(Array(20).fill('no_position'))
    expect(batch.rejects[0]).toEqual({ reason: 'no_position', detail: 'line 60: GPGGA: fix quality 0, the receiver has no fix' })
    expect(batch.rejects[1]).toEqual({ reason: 'no_position', detail: 'line 63: GNRMC: status V, the receiver has no valid fix' })
  })

  it('holux: stale coordinates with status V are no fix at all, and the cut-off last sentence is invalid_fix', () => {
    const batch = decodeNmea(log('holux-gm-210.log'), CONTEXT)
    expect(batch.fixes).toEqual([])
    expect(reasons(batch)).toEqual([...Array(22).fill('no_position'), 'invalid_fix'])
    expect(batch.rejects.at(-1)).toEqual({
      reason: 'invalid_fix', detail: 'line 50: truncated sentence (no *hh checksum): "$GPGGA,012530.562,4131.7353,N,09336.8150,W,0,00,50."'
    })
  })

  it('garmin: proprietary $PGRM*, GLL, VTG, GSA and GSV are skipped without a reject', () => {
    const batch = decodeNmea(log('garmin17n.log'), CONTEXT)
    expect(batch.rejects).toEqual([])
    expect(batch.fixes).toEqual([
      { deviceId: 'gps-1', time: Date.UTC(2005, 2, 16, 9, 38, 2), lat: 52 + 13.1439 / 60, lon: 21 + 0.6511 / 60, speed: 0, heading: 226, altitude: 137.2 },
      { deviceId: 'gps-1', time: Date.UTC(2005, 2, 16, 9, 38, 3), lat: 52 + 13.1439 / 60, lon: 21 + 0.6511 / 60, speed: 0, heading: 226, altitude: 137.2 }
    ])
  })

  it('fuzzy cases: every sentence is a fix or a reject, and nothing is refused', () => {
    const batch = decodeNmea(log('nmea-fuzzy-cases.log'), CONTEXT)
    // 28 position sentences: 14 GGA + RMC pairs, GP and GN talkers
    expect(batch.fixes).toHaveLength(14)
    expect(batch.rejects).toEqual([])
    expect(batch.fixes[0]).toEqual({
      deviceId: 'gps-1', time: Date.UTC(2020, 2, 18, 13, 28, 20, 600), lat: 41 + 34.49821229 / 60, lon: -(93 + 45.03351845 / 60), speed: 3.252 * KNOT, heading: 92.308, altitude: 278.02
    })
  })
})

describe('NMEA: sentences', () => {
  const rmc = sentence('GPRMC,081411.000,A,5541.1955,N,03737.2872,E,0.60,301.29,260514,,,A')

  it('a checksum mismatch is bad_checksum; lower-case hex is accepted', () => {
    const real = '$GNRMC,081411.000,A,5541.1955,N,03737.2872,E,0.60,301.29,260514,,,A*74'
    expect(decode(real.replace('5541.1955', '5541.1956')).rejects).toEqual([{ reason: 'bad_checksum', detail: 'line 1: GNRMC: *74 given, *77 computed' }])
    expect(decode('$GPZDA,081411.000,26,05,2014,,*5E').rejects).toEqual([{ reason: 'bad_checksum', detail: 'line 1: GPZDA: *5E given, *5D computed' }])
    expect(decode('$GPGGA,081412.000,5541.1956,N,03737.2877,E,1,5,4.87,66.2,M,14.5,M,,*6a', { ...CONTEXT, receivedAt: Date.UTC(2014, 4, 26, 9) }).fixes).toHaveLength(1)
  })

  it('accepts any talker for RMC and GGA', () => {
    for (const talker of ['GP', 'GN', 'GL', 'GA', 'BD', 'GB', 'QZ']) {
      expect(decode(sentence(`${talker}RMC,081411.000,A,5541.1955,N,03737.2872,E,0.60,301.29,260514,,,A`)).fixes).toHaveLength(1)
    }
  })

  it('reads south and west as negative, and ddmmyy years 80-99 as 19yy, 00-79 as 20yy', () => {
    const at = (date: string): number | undefined => decode(sentence(`GPRMC,120000,A,3352.1234,S,15112.5678,W,,,${date},,`)).fixes[0]?.time
    expect(decode(sentence('GPRMC,120000,A,3352.1234,S,15112.5678,W,,,010100,,')).fixes[0]).toEqual({
      deviceId: 'gps-1', time: Date.UTC(2000, 0, 1, 12), lat: -(33 + 52.1234 / 60), lon: -(151 + 12.5678 / 60)
    })
    expect(at('010180')).toBe(Date.UTC(1980, 0, 1, 12))
    expect(at('311299')).toBe(Date.UTC(1999, 11, 31, 12))
    expect(at('311279')).toBe(Date.UTC(2079, 11, 31, 12))
  })

  it('refuses impossible dates, times and minutes as invalid_fix', () => {
    expect(reasons(decode(sentence('GPRMC,120000,A,3352.1234,S,15112.5678,W,,,300214,,')))).toEqual(['invalid_fix'])
    expect(reasons(decode(sentence('GPRMC,250000,A,3352.1234,S,15112.5678,W,,,010114,,')))).toEqual(['invalid_fix'])
    expect(reasons(decode(sentence('GPRMC,120000,A,3372.1234,S,15112.5678,W,,,010114,,')))).toEqual(['invalid_fix'])
    expect(reasons(decode(sentence('GPRMC,120000,A,,,,,,,010114,,')))).toEqual(['invalid_fix'])
  })

  it('status V, GGA quality 0, 7 (manual) and 8 (simulator), and RMC mode N or S are no_position', () => {
    expect(reasons(decode([
      sentence('GPRMC,120000,V,3352.1234,S,15112.5678,W,,,010114,,'),
      sentence('GPGGA,120001,3352.1234,S,15112.5678,W,0,00,,,M,,M,,'),
      sentence('GPGGA,120002,3352.1234,S,15112.5678,W,7,00,,,M,,M,,'),
      sentence('GPGGA,120003,3352.1234,S,15112.5678,W,8,00,,,M,,M,,'),
      sentence('GPRMC,120004,A,3352.1234,S,15112.5678,W,,,010114,,,N'),
      sentence('GPRMC,120005,A,3352.1234,S,15112.5678,W,,,010114,,,S')
    ].join('\r\n')))).toEqual(Array(6).fill('no_position'))
  })

  it('accepts GGA quality 6 (dead reckoning) and a negative altitude', () => {
    expect(decode(sentence('GPGGA,120000,5213.1439,N,00432.1000,E,6,04,2.0,-3.5,M,,M,,'), { ...CONTEXT, receivedAt: Date.UTC(2024, 0, 1, 12, 0, 5) }).fixes).toEqual([
      { deviceId: 'gps-1', time: Date.UTC(2024, 0, 1, 12), lat: 52 + 13.1439 / 60, lon: 4 + 32.1 / 60, altitude: -3.5 }
    ])
  })

  it('skips GSA, GSV, VTG, ZDA, TXT and proprietary sentences silently', () => {
    const batch = decode([
      '$GNGSA,A,3,03,19,27,13,,,,,,,,,2.75,2.56,1.00*10',
      '$GPZDA,081411.000,26,05,2014,,*5D',
      '$GPGSV,3,3,10,28,13,265,,31,08,100,*7A',
      sentence('GPTXT,01,01,02,ANTSTATUS=OK'),
      '$PMTK001,604,1*30'
    ].join('\n'))
    expect(batch).toEqual({ fixes: [], scans: [], events: [], driverEvents: [], rejects: [] })
  })

  it('text with no sentence is wrong_format; an empty payload is empty_batch; a fragment line is invalid_fix', () => {
    expect(reasons(decode('hello world'))).toEqual(['wrong_format'])
    expect(reasons(decode(' \r\n'))).toEqual(['empty_batch'])
    expect(reasons(decode(`${rmc}\n3737.2872,E,0.60*11`))).toEqual(['invalid_fix'])
  })

  it('drops serial noise before the $ of a sentence', () => {
    expect(decode(`\u0000\u00ff,E,1*${rmc}`).fixes).toHaveLength(1)
  })
})

describe('NMEA: dating GGA, which has only a time of day', () => {
  const gga = (time: string): string => sentence(`GPGGA,${time},5541.1956,N,03737.2877,E,1,5,4.87,66.2,M,14.5,M,,`)

  it('takes the UTC date of the receive time', () => {
    const [fix] = decode(gga('081412.000'), { ...CONTEXT, receivedAt: Date.UTC(2014, 4, 26, 9) }).fixes
    expect(fix?.time).toBe(Date.UTC(2014, 4, 26, 8, 14, 12))
  })

  it('uses the day before when the receive date puts the fix more than 12 h ahead (midnight rollover)', () => {
    const [fix] = decode(gga('235950'), { ...CONTEXT, receivedAt: Date.UTC(2014, 4, 27, 0, 0, 5) }).fixes
    expect(fix?.time).toBe(Date.UTC(2014, 4, 26, 23, 59, 50))
  })

  it('prefers the date of an RMC in the same payload, across midnight', () => {
    const payload = [sentence('GPRMC,235959,A,5541.1955,N,03737.2872,E,0.60,301.29,260514,,,A'), gga('000001')].join('\r\n')
    const batch = decode(payload, { ...CONTEXT, receivedAt: Date.UTC(2030, 0, 1) })
    expect(batch.fixes.map((fix) => fix.time)).toEqual([Date.UTC(2014, 4, 26, 23, 59, 59), Date.UTC(2014, 4, 27, 0, 0, 1)])
  })

  it('merges GGA and RMC of the same instant whichever comes first', () => {
    const payload = [gga('081412.000'), sentence('GNRMC,081412.000,A,5541.1956,N,03737.2877,E,0.52,301.26,260514,,,A')].join('\n')
    expect(decode(payload).fixes).toEqual([
      { deviceId: 'gps-1', time: Date.UTC(2014, 4, 26, 8, 14, 12), lat: 55 + 41.1956 / 60, lon: 37 + 37.2877 / 60, speed: 0.52 * KNOT, heading: 301.26, altitude: 66.2 }
    ])
  })
})

describe('NMEA: fuzz', () => {
  const seeds = LOGS.map(log)

  it('never throws on mutated logs; every outcome is a fix or a known reject', () => {
    const random = mulberry32(0x0183)
    for (let i = 0; i < 1500; i++) {
      const seed = seeds[i % seeds.length] ?? Buffer.alloc(0)
      const batch = decodeNmea(mutate(seed, random), { ...CONTEXT, receivedAt: Math.floor(random() * 4e12) })
      for (const reject of batch.rejects) {
        expect(Object.keys(REJECT_REASONS)).toContain(reject.reason)
        // details end up in a PostgreSQL text column, which refuses NUL
        expect(reject.detail).not.toMatch(/[\u0000-\u001f]/)
      }
      for (const fix of batch.fixes) expect(finite(fix)).toBe(true)
    }
  })

  it('never throws on shuffled and cut lines', () => {
    const random = mulberry32(0x4e4d)
    const lines = seeds.flatMap((seed) => seed.toString('latin1').split('\n'))
    for (let i = 0; i < 1500; i++) {
      const picked = Array.from({ length: 1 + Math.floor(random() * 8) }, () => {
        const line = lines[Math.floor(random() * lines.length)] ?? ''
        return random() < 0.3 ? line.slice(0, Math.floor(random() * line.length)) : line
      })
      const batch = decode(picked.join(random() < 0.5 ? '\n' : '\r\n'))
      for (const fix of batch.fixes) expect(finite(fix)).toBe(true)
    }
  })
})

function finite (fix: Fix): boolean {
  return [fix.time, fix.lat, fix.lon, fix.speed ?? 0, fix.heading ?? 0, fix.altitude ?? 0].every(Number.isFinite)
}

function mutate (seed: Buffer, random: () => number): Buffer {
  const bytes = Buffer.from(seed)
  const edits = 1 + Math.floor(random() * 6)
  for (let n = 0; n < edits; n++) {
    const at = Math.floor(random() * bytes.length)
    const kind = Math.floor(random() * 3)
    if (kind === 0) bytes[at] = Math.floor(random() * 256)
    else if (kind === 1) bytes[at] = '$*,.\r\n0123456789ANSEWVM'.charCodeAt(Math.floor(random() * 23))
    else return bytes.subarray(0, at)
  }
  return bytes
}

/** A small seeded PRNG, so a failing case can be replayed. */
function mulberry32 (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
