/** Canonical telemetry, as every decoder produces it and the pipeline consumes it. */

export interface Fix {
  deviceId: string
  /** Fix time, ms since the Unix epoch. */
  time: number
  lat: number
  lon: number
  /** m/s */
  speed?: number
  /** degrees clockwise from true north */
  heading?: number
  /** metres */
  accuracy?: number
  /** metres above mean sea level */
  altitude?: number
  /** percent */
  battery?: number
  seq?: number
}

export interface Scan {
  readerId: string
  antenna: number
  /** Upper-case hexadecimal. */
  epc: string
  /** dBm */
  rssi?: number
  /** Read time, ms since the Unix epoch. */
  time: number
}

/** Why a delivery attempt failed, as the driver app offers it. */
export const ATTEMPT_REASON_CODES = ['recipient_not_available', 'business_closed', 'no_access', 'cod_not_ready', 'rescheduled_by_recipient', 'other'] as const
export type AttemptReason = typeof ATTEMPT_REASON_CODES[number]

export const DRIVER_EVENT_TYPES = ['delivered', 'attempt_failed', 'cod_collected'] as const
export type DriverEventType = typeof DRIVER_EVENT_TYPES[number]

/** What a driver records at the door, from the driver app. */
export interface DriverEvent {
  /** The driver's device (the phone or handheld). */
  deviceId: string
  type: DriverEventType
  /** The parcel's tracking number (or its id). */
  parcel: string
  /** ms since the Unix epoch */
  time: number
  /** Where it happened; the device's latest fix when absent. */
  lat?: number
  lon?: number
  /** attempt_failed only. */
  reason?: AttemptReason
  /** A reference to a photo, a signature or a PIN check held elsewhere (object-store key or URL). */
  proof?: { kind: 'photo' | 'signature' | 'pin', ref: string }
  /** Cash collected: a decimal string, never a float; paid in cash (the default), by card or by QR wallet. */
  cod?: { amount: string, currency: string, method?: 'cash' | 'card' | 'qr' }
  recipient?: string
  note?: string
}
