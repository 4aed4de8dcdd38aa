import type { Fix } from '../../proto/types.js'
import { rejection, type Rejection } from '../rejects.js'
import { emptyBatch, type DecodeContext, type FormatDecoder } from './format.js'

/** One RMC or GGA sentence that reports a position. */
interface Reading {
  type: 'RMC' | 'GGA'
  /** ms since midnight UTC */
  timeOfDay: number
  /** RMC only: midnight UTC of the fix date, ms */
  date?: number
  lat: number
  lon: number
  speed?: number
  heading?: number
  altitude?: number
}

const KNOT_MPS = 1852 / 3600
const DAY_MS = 86_400_000
const HALF_DAY_MS = DAY_MS / 2
const POSITION_SENTENCE = /^[A-Z]{2}(RMC|GGA)$/
const NUMBER = /^\d+(?:\.\d+)?$/
const SIGNED_NUMBER = /^-?\d+(?:\.\d+)?$/

/**
 * NMEA 0183 text: one or more sentences, one per line. RMC and GGA from any talker become fixes,
 * one per time of day; every other sentence carries no position and is skipped.
 */
export const decodeNmea: FormatDecoder = (payload, context) => {
  const batch = emptyBatch()
  // NMEA is ASCII; latin1 keeps one char per byte, so the checksum sees the bytes that came
  const text = payload.toString('latin1')
  if (text.trim() === '') {
    batch.rejects.push(rejection('empty_batch', 'the payload is empty'))
    return batch
  }
  if (!text.includes('$')) {
    batch.rejects.push(rejection('wrong_format', 'no NMEA sentence (nothing starts with $)'))
    return batch
  }
  const readings: Reading[] = []
  text.split(/\r\n|\n|\r/).forEach((raw, index) => {
    const line = raw.trim()
    if (line === '') return
    const read = readSentence(line)
    if (read === undefined) return
    // details quote raw input; control characters (NUL above all) cannot be stored as text
    if ('reason' in read) batch.rejects.push({ reason: read.reason, detail: `line ${index + 1}: ${read.detail.replace(/[\u0000-\u001f\u007f]/g, '?')}` })
    else readings.push(read)
  })
  batch.fixes = mergeByTime(readings, context)
  return batch
}

/** A reading, a rejection, or undefined for a sound sentence that carries no position. */
function readSentence (line: string): Reading | Rejection | undefined {
  const start = line.indexOf('$')
  if (start < 0) return rejection('invalid_fix', `not an NMEA sentence: "${line.slice(0, 40)}"`)
  // a serial reader can start mid-sentence, leaving a fragment before the next $
  const sentence = line.slice(start)
  const star = sentence.indexOf('*')
  const given = star < 0 ? '' : sentence.slice(star + 1)
  // without its checksum a cut-off sentence looks complete, so one is required
  if (!/^[0-9A-F]{2}$/i.test(given)) return rejection('invalid_fix', `truncated sentence (no *hh checksum): "${sentence.slice(0, 80)}"`)
  const body = sentence.slice(1, star)
  let sum = 0
  for (let i = 0; i < body.length; i++) sum ^= body.charCodeAt(i)
  // a corrupted sentence is refused whatever its type: the damage may be in the type itself
  if (sum !== parseInt(given, 16)) {
    return rejection('bad_checksum', `${body.split(',')[0]?.slice(0, 10) ?? ''}: *${given} given, *${hex(sum)} computed`)
  }
  const fields = body.split(',')
  const address = fields[0] ?? ''
  // proprietary $P... sentences and GSA, GSV, VTG, ZDA, TXT, GLL, ... are skipped
  const type = POSITION_SENTENCE.exec(address)?.[1]
  if (type === 'RMC') return readRmc(fields, address)
  if (type === 'GGA') return readGga(fields, address)
  return undefined
}

// $--RMC,hhmmss.ss,A,ddmm.mm,N,dddmm.mm,E,knots,course,ddmmyy,magvar,E,mode[,navstatus]
function readRmc (fields: string[], address: string): Reading | Rejection {
  const status = fields[2]
  if (status === 'V') return rejection('no_position', `${address}: status V, the receiver has no valid fix`)
  if (status !== 'A') return rejection('invalid_fix', `${address}: status "${status ?? ''}" is neither A nor V`)
  if (fields.length < 10) return rejection('invalid_fix', `${address}: ${fields.length} fields, 10 needed`)
  // NMEA 2.3 mode: N not valid, M manual input, S simulator; none is where the device is
  const mode = fields[12]
  if (mode === 'N' || mode === 'M' || mode === 'S') return rejection('no_position', `${address}: mode ${mode}, not a measured fix`)
  const common = readCommon(fields, 1, 3, address)
  if ('reason' in common) return common
  const reading: Reading = { type: 'RMC', ...common }
  const speed = optionalNumber(fields[7])
  const course = optionalNumber(fields[8])
  if (speed === null || course === null) return rejection('invalid_fix', `${address}: speed or course is not a number`)
  if (speed !== undefined) reading.speed = speed * KNOT_MPS
  if (course !== undefined) reading.heading = course
  if (fields[9] !== '') {
    const date = parseDate(fields[9] ?? '')
    if (date === undefined) return rejection('invalid_fix', `${address}: date "${fields[9] ?? ''}" is not ddmmyy`)
    reading.date = date
  }
  return reading
}

// $--GGA,hhmmss.ss,ddmm.mm,N,dddmm.mm,E,quality,satellites,hdop,altitude,M,separation,M,age,station
function readGga (fields: string[], address: string): Reading | Rejection {
  const quality = fields[6]
  if (quality === '0') return rejection('no_position', `${address}: fix quality 0, the receiver has no fix`)
  if (quality === undefined || !/^[1-8]$/.test(quality)) return rejection('invalid_fix', `${address}: fix quality "${quality ?? ''}" is not 0 to 8`)
  if (quality === '7' || quality === '8') return rejection('no_position', `${address}: fix quality ${quality} is ${quality === '7' ? 'manual input' : 'a simulation'}`)
  if (fields.length < 11) return rejection('invalid_fix', `${address}: ${fields.length} fields, 11 needed`)
  const common = readCommon(fields, 1, 2, address)
  if ('reason' in common) return common
  const reading: Reading = { type: 'GGA', ...common }
  // satellites and hdop are not kept: hdop is a unitless dilution, not an accuracy in metres
  const altitude = optionalNumber(fields[9], SIGNED_NUMBER)
  if (altitude === null) return rejection('invalid_fix', `${address}: altitude "${fields[9] ?? ''}" is not a number`)
  // M is the only unit NMEA defines; some receivers leave it empty
  if (altitude !== undefined && (fields[10] === 'M' || fields[10] === '')) reading.altitude = altitude
  return reading
}

function readCommon (fields: string[], timeAt: number, latAt: number, address: string): Pick<Reading, 'timeOfDay' | 'lat' | 'lon'> | Rejection {
  const timeOfDay = parseTimeOfDay(fields[timeAt] ?? '')
  if (timeOfDay === undefined) return rejection('invalid_fix', `${address}: time "${fields[timeAt] ?? ''}" is not hhmmss`)
  const lat = parseCoordinate(fields[latAt], fields[latAt + 1], 'N', 'S')
  const lon = parseCoordinate(fields[latAt + 2], fields[latAt + 3], 'E', 'W')
  if (lat === undefined || lon === undefined) return rejection('invalid_fix', `${address}: a valid fix without a readable position`)
  return { timeOfDay, lat, lon }
}

/**
 * ddmm.mmmm / dddmm.mmmm: the two digits before the point start the minutes, whatever the width
 * of the degrees (some receivers drop leading zeros). Split as text so no float subtraction blurs
 * the minutes.
 */
function parseCoordinate (value: string | undefined, hemisphere: string | undefined, positive: string, negative: string): number | undefined {
  if (value === undefined || !NUMBER.test(value) || (hemisphere !== positive && hemisphere !== negative)) return undefined
  const point = value.includes('.') ? value.indexOf('.') : value.length
  if (point < 2) return undefined
  const minutes = Number(value.slice(point - 2))
  if (minutes >= 60) return undefined
  const degrees = Number(value.slice(0, point - 2)) + minutes / 60
  return hemisphere === negative ? -degrees : degrees
}

function parseTimeOfDay (value: string): number | undefined {
  const match = /^(\d{2})(\d{2})(\d{2}(?:\.\d+)?)$/.exec(value)
  if (match === null) return undefined
  const [hours, minutes, seconds] = [match[1], match[2], match[3]].map(Number)
  if (hours === undefined || minutes === undefined || seconds === undefined) return undefined
  // 60 is a leap second
  if (hours > 23 || minutes > 59 || seconds >= 61) return undefined
  return (hours * 3600 + minutes * 60) * 1000 + Math.round(seconds * 1000)
}

/** ddmmyy as midnight UTC; yy 80-99 is 19yy (GPS began in 1980), 00-79 is 20yy. */
function parseDate (value: string): number | undefined {
  const match = /^(\d{2})(\d{2})(\d{2})$/.exec(value)
  if (match === null) return undefined
  const [day, month, yy] = [match[1], match[2], match[3]].map(Number)
  if (day === undefined || month === undefined || yy === undefined) return undefined
  const year = yy >= 80 ? 1900 + yy : 2000 + yy
  const date = new Date(Date.UTC(year, month - 1, day))
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day ? date.getTime() : undefined
}

/** undefined for an empty field, null for one that is not a number. */
function optionalNumber (value: string | undefined, pattern = NUMBER): number | undefined | null {
  if (value === undefined || value === '') return undefined
  return pattern.test(value) ? Number(value) : null
}

/**
 * One fix per time of day: a receiver sends RMC and GGA for the same instant, RMC with the date,
 * speed and course, GGA with the altitude.
 */
function mergeByTime (readings: Reading[], context: DecodeContext): Fix[] {
  const groups = new Map<number, { rmc?: Reading, gga?: Reading }>()
  for (const reading of readings) {
    const group = groups.get(reading.timeOfDay) ?? {}
    // a second RMC or GGA for the same instant (another talker) adds nothing
    if (reading.type === 'RMC') group.rmc ??= reading
    else group.gga ??= reading
    groups.set(reading.timeOfDay, group)
  }
  const dated = readings.find((reading) => reading.date !== undefined)
  const anchor = dated?.date === undefined ? undefined : dated.date + dated.timeOfDay
  const fixes: Fix[] = []
  for (const [timeOfDay, { rmc, gga }] of groups) {
    const main = rmc ?? gga
    if (main === undefined) continue
    const fix: Fix = { deviceId: context.deviceId, time: dateFix(timeOfDay, rmc?.date, anchor, context.receivedAt), lat: main.lat, lon: main.lon }
    if (rmc?.speed !== undefined) fix.speed = rmc.speed
    if (rmc?.heading !== undefined) fix.heading = rmc.heading
    if (gga?.altitude !== undefined) fix.altitude = gga.altitude
    fixes.push(fix)
  }
  return fixes
}

/**
 * GGA has only a time of day. Its date comes from a dated RMC in the same payload (the nearest day
 * to it, so a batch may cross midnight), else from the receive time: a fix is not from the
 * future, so a time of day more than 12 h ahead of receipt belongs to the day before.
 */
function dateFix (timeOfDay: number, date: number | undefined, anchor: number | undefined, receivedAt: number): number {
  if (date !== undefined) return date + timeOfDay
  if (anchor !== undefined) {
    const time = startOfDay(anchor) + timeOfDay
    if (time - anchor > HALF_DAY_MS) return time - DAY_MS
    if (anchor - time > HALF_DAY_MS) return time + DAY_MS
    return time
  }
  const time = startOfDay(receivedAt) + timeOfDay
  return time - receivedAt > HALF_DAY_MS ? time - DAY_MS : time
}

function startOfDay (ms: number): number {
  return ms - (((ms % DAY_MS) + DAY_MS) % DAY_MS)
}

function hex (value: number): string {
  return value.toString(16).toUpperCase().padStart(2, '0')
}
