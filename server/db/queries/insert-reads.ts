import type { ScanItem } from '../../pipeline/items.js'
import type { Sql } from '../sql.js'

const SQL = `
INSERT INTO rfid_reads (reader_id, time, antenna, epc, rssi, station_id, parcel_id, received_at, gs1_key)
SELECT reader_id, to_timestamp(ms / 1000.0), antenna, epc, rssi, station_id, parcel_id, to_timestamp(received_ms / 1000.0), gs1_key
  FROM unnest($1::text[], $2::float8[], $3::int[], $4::text[], $5::real[], $6::text[], $7::uuid[], $8::float8[], $9::text[])
    AS t(reader_id, ms, antenna, epc, rssi, station_id, parcel_id, received_ms, gs1_key)
ON CONFLICT DO NOTHING`

export async function insertReads (sql: Sql, items: readonly ScanItem[]): Promise<void> {
  await sql.query(SQL, [
    items.map((item) => item.scan.readerId),
    items.map((item) => item.scan.time),
    items.map((item) => item.scan.antenna),
    items.map((item) => item.scan.epc),
    items.map((item) => item.scan.rssi ?? null),
    items.map((item) => item.stationId),
    items.map((item) => item.parcelId),
    items.map((item) => item.receivedAt),
    items.map((item) => item.gs1Key)
  ])
}
