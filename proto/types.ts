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
