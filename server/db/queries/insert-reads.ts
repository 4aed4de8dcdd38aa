import type { StoredScan } from '../../model.js'
import { numberArray, textArray } from '../pg-array.js'
import type { Sql } from '../sql.js'
import { runParts, type WritePart } from '../write-part.js'

const SQL = `
INSERT INTO rfid_reads (reader_id, time, antenna, epc, rssi, station_id, parcel_id, received_at, gs1_key)
SELECT reader_id, to_timestamp(ms / 1000.0), antenna, epc, rssi, station_id, parcel_id, to_timestamp(received_ms / 1000.0), gs1_key
  FROM unnest($1::text[], $2::float8[], $3::int[], $4::text[], $5::real[], $6::text[], $7::uuid[], $8::float8[], $9::text[])
    AS t(reader_id, ms, antenna, epc, rssi, station_id, parcel_id, received_ms, gs1_key)
ON CONFLICT DO NOTHING`

/** The batch's RFID reads as a part of its one statement (write-part.ts). */
export function readsPart (items: readonly StoredScan[]): WritePart {
  return { ctes: [{ name: 'reads_inserted', body: SQL }], params: [
    textArray(items.map((item) => item.scan.readerId)),
    numberArray(items.map((item) => item.scan.time)),
    numberArray(items.map((item) => item.scan.antenna)),
    textArray(items.map((item) => item.scan.epc)),
    numberArray(items.map((item) => item.scan.rssi)),
    textArray(items.map((item) => item.stationId)),
    textArray(items.map((item) => item.parcelId)),
    numberArray(items.map((item) => item.receivedAt)),
    textArray(items.map((item) => item.gs1Key))
  ] }
}

export async function insertReads (sql: Sql, items: readonly StoredScan[]): Promise<void> {
  await runParts(sql, [readsPart(items)])
}
