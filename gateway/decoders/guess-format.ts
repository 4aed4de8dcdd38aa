import type { DeviceFormat } from './format.js'

/**
 * A best guess at what a payload is, used only to explain a refusal: "this looks like OwnTracks,
 * but the device is registered as trackstream" tells a person what to fix.
 */
export function guessFormat (payload: Buffer): DeviceFormat | null {
  const text = payload.subarray(0, 4096).toString('utf8').trimStart()
  if (/^\$[A-Z]{2}(RMC|GGA),/m.test(text)) return 'nmea'
  if (!text.startsWith('{') && !text.startsWith('[')) return null
  let parsed: unknown
  try {
    parsed = JSON.parse(payload.toString('utf8'))
  } catch {
    return null
  }
  const first: unknown = Array.isArray(parsed) ? parsed[0] : parsed
  if (typeof first !== 'object' || first === null) return null
  const has = (key: string): boolean => key in first
  const nested = (key: string, inner: string): boolean => {
    const value = (first as Record<string, unknown>)[key]
    return typeof value === 'object' && value !== null && inner in value
  }
  if (has('_type')) return 'owntracks'
  if (has('tagInventoryEvent')) return 'impinj'
  if (nested('data', 'idHex')) return 'zebra'
  if (has('end_device_ids')) return 'ttn'
  if (has('deviceInfo')) return 'chirpstack'
  if (nested('location', 'coords')) return 'osmand'
  if ((has('lat') && has('lon')) || has('epc') || has('fixes') || has('scans')) return 'trackstream'
  return null
}
