import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'
import type { Fix, Scan } from './types.js'

const root = protobuf.loadSync(fileURLToPath(new URL('./telemetry.proto', import.meta.url)))
export const FixBatchType = root.lookupType('trackstream.v1.FixBatch')
export const ScanBatchType = root.lookupType('trackstream.v1.ScanBatch')

/** The decoded shapes, as protobufjs returns them (int64 arrives as a Long or a number). */
export interface WireFix {
  deviceId: string
  timeMs: number | protobuf.Long
  lat: number
  lon: number
  speed?: number | null
  heading?: number | null
  accuracy?: number | null
  altitude?: number | null
  battery?: number | null
  seq?: number | null
}

export interface WireScan {
  readerId: string
  antenna: number
  epc: string
  rssi?: number | null
  timeMs: number | protobuf.Long
}

export function decodeFixBatch (payload: Uint8Array): WireFix[] {
  return (FixBatchType.decode(payload) as unknown as { fixes: WireFix[] }).fixes
}

export function decodeScanBatch (payload: Uint8Array): WireScan[] {
  return (ScanBatchType.decode(payload) as unknown as { scans: WireScan[] }).scans
}

export function encodeFixBatch (fixes: Array<Omit<Fix, 'deviceId'> & { deviceId?: string }>): Uint8Array {
  return FixBatchType.encode({ fixes: fixes.map(({ time, ...rest }) => ({ ...rest, timeMs: time })) }).finish()
}

export function encodeScanBatch (scans: Array<Omit<Scan, 'readerId'> & { readerId?: string }>): Uint8Array {
  return ScanBatchType.encode({ scans: scans.map(({ time, ...rest }) => ({ ...rest, timeMs: time })) }).finish()
}

export function longToNumber (value: number | protobuf.Long): number {
  return typeof value === 'number' ? value : protobuf.util.LongBits.from(value).toNumber(value.unsigned)
}
