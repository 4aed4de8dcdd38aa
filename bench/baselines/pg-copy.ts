import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import { from as copyFrom } from 'pg-copy-streams'
import type pg from 'pg'

/**
 * Baseline: how fast this PostgreSQL takes the same rows by COPY, the fastest way in, into a copy
 * of positions with the same indexes: the ceiling for any ingest path on this machine.
 */
export async function copyRows (pool: pg.Pool, rows: number): Promise<{ rows: number, seconds: number, rowsPerS: number }> {
  const client = await pool.connect()
  try {
    await client.query('DROP TABLE IF EXISTS copy_positions')
    await client.query('CREATE TABLE copy_positions (LIKE positions INCLUDING ALL)')
    const base = Date.now()
    function * lines (): Generator<string> {
      for (let i = 0; i < rows; i++) {
        const time = new Date(base + i).toISOString()
        yield `bench-${i % 5000}\t${time}\t45.27\t13.71\t12.5\t90\t\\N\t\\N\t\\N\t${i}\tV${i % 5000}\t${time}\n`
      }
    }
    const started = performance.now()
    await pipeline(Readable.from(lines()), client.query(copyFrom(
      'COPY copy_positions (device_id, time, lat, lon, speed, heading, accuracy, altitude, battery, seq, vehicle_id, received_at) FROM STDIN')))
    const seconds = (performance.now() - started) / 1000
    await client.query('DROP TABLE copy_positions')
    return { rows, seconds: Math.round(seconds * 100) / 100, rowsPerS: Math.round(rows / seconds) }
  } finally {
    client.release()
  }
}
