import type { DriverEvent, Fix, Scan } from '../../proto/types.js'
import type { Rejection } from '../rejects.js'

/** The payload families trackstream speaks. Each device is registered with one. */
export const DEVICE_FORMATS = ['trackstream', 'owntracks', 'osmand', 'nmea', 'impinj', 'zebra', 'ttn', 'chirpstack'] as const
export type DeviceFormat = typeof DEVICE_FORMATS[number]

/**
 * What a device says besides positions and reads: connection, geofences (its own), and a reader's
 * health (heartbeats, each antenna port, GPI/GPO pins, inventory running or not, alerts).
 */
export const DEVICE_EVENT_TYPES = [
  'online', 'offline', 'geofence_enter', 'geofence_leave',
  'heartbeat', 'antenna_connected', 'antenna_disconnected', 'gpi', 'gpo', 'inventory_status', 'reader_alert'
] as const
export type DeviceEventType = typeof DEVICE_EVENT_TYPES[number]

/** Something a device reports that is not a position or a tag read. */
export interface DeviceEvent {
  deviceId: string
  /** ms since the Unix epoch */
  time: number
  type: DeviceEventType
  /**
   * Format-specific facts worth keeping, e.g. the OwnTracks region name. Antenna events carry
   * `port`, pin events `pin` and `state` ("high" or "low"), inventory events `status`, alerts
   * `level` and `message`; a heartbeat may carry each antenna's state as `antenna.<port>`.
   */
  detail: Record<string, string | number | boolean | null>
}

/** What a format decoder makes of one payload: items it could read, and why it refused the rest. */
export interface DecodedBatch {
  fixes: Fix[]
  scans: Scan[]
  events: DeviceEvent[]
  driverEvents: DriverEvent[]
  rejects: Rejection[]
}

export interface DecodeContext {
  /**
   * The device the transport vouches for: the MQTT username, or the HTTP credentials. Decoders set
   * Fix.deviceId / Scan.readerId to it, except where the payload speaks for other devices (a LoRaWAN
   * network server reporting its end devices, or OsmAnd, whose only identity is the id parameter).
   */
  deviceId: string
  /** The MQTT topic, or null when the payload came over HTTP. */
  topic: string | null
  /** Server receive time, ms: for messages that carry no time, or only a time of day. */
  receivedAt: number
}

/** Pure: no I/O, no clock, no state. Never throws; every problem becomes a rejection. */
export type FormatDecoder = (payload: Buffer, context: DecodeContext) => DecodedBatch

export function emptyBatch (): DecodedBatch {
  return { fixes: [], scans: [], events: [], driverEvents: [], rejects: [] }
}

/** Which formats make sense for which kind of device. */
export const FORMATS_BY_KIND = {
  tracker: ['trackstream', 'owntracks', 'osmand', 'nmea'],
  reader: ['trackstream', 'impinj', 'zebra'],
  network_server: ['ttn', 'chirpstack']
} as const satisfies Record<string, readonly DeviceFormat[]>

export type DeviceKindName = keyof typeof FORMATS_BY_KIND
