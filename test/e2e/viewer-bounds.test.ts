import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../support/clients.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'
import { startTestServer, TEST_API_KEY, type TestServer } from '../support/server.js'

const VEHICLES = 3000

/** The server's side of every ops viewer connection: what it holds unsent for each. */
function serverBuffered (server: TestServer): number[] {
  return [...server.app.websocketServer.clients].map((client) => client.bufferedAmount)
}

describe('a viewer cannot grow the server\'s memory', () => {
  let db: TestDatabase
  let server: TestServer

  beforeAll(async () => {
    db = await createTestDatabase()
    // a fleet on the map from the start, so every snapshot is large (about 300 KB of JSON)
    await db.pool.query(
      `INSERT INTO device_latest (device_id, time, lat, lon, speed, heading, received_at)
       SELECT 'van-' || n, now() - interval '1 minute', 13 + n / 10000.0, 100 + n / 10000.0, 5, 90, now()
         FROM generate_series(1, $1) AS n`, [VEHICLES])
    server = await startTestServer({ db })
  })
  afterAll(async () => {
    await server?.close()
    await db?.drop()
  })

  it('coalesces 8,000 viewport messages from a client that never reads: the server holds at most about one snapshot for it, and it gets the last viewport it asked for', async () => {
    const socket = new WebSocket(`${server.wsUrl}/ws/live`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } })
    let frames = 0
    let last: { type: string, positions: unknown[] } | undefined
    socket.on('message', (data: Buffer) => {
      frames++
      last = JSON.parse(data.toString()) as typeof last
    })
    await new Promise<void>((resolve, reject) => { socket.once('open', () => { resolve() }); socket.once('error', reject) })
    // stop reading: everything the server sends piles up in the kernel, then in the server
    const raw = (socket as unknown as { _socket: import('node:net').Socket })._socket
    raw.pause()
    for (let i = 0; i < 8000; i++) {
      socket.send(JSON.stringify({ type: 'viewport', bbox: i % 2 === 0 ? [99, 12, 102, 15] : [99.5, 12.5, 101.5, 14.5] }))
    }
    socket.send(JSON.stringify({ type: 'viewport', bbox: [100, 13, 100.01, 13.01] }))
    await new Promise((resolve) => setTimeout(resolve, 2000))
    for (const buffered of serverBuffered(server)) expect(buffered).toBeLessThan(3 * (1 << 20))

    raw.resume()
    await eventually(async () => {
      expect(last?.type).toBe('snapshot')
      expect(last?.positions).toHaveLength(100)
    }, 10_000)
    // one snapshot a tick at most while it was being read, none while congested: far from 8,000
    expect(frames).toBeLessThan(500)
    socket.close()
  })

  it('answers malformed messages only while the client keeps reading: 50,000 of them from one that does not leave nothing piled up', async () => {
    const socket = new WebSocket(`${server.wsUrl}/ws/live`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } })
    await new Promise<void>((resolve, reject) => { socket.once('open', () => { resolve() }); socket.once('error', reject) })
    const raw = (socket as unknown as { _socket: import('node:net').Socket })._socket
    raw.pause()
    // malformed messages each earn an error answer: those stop once the socket is congested
    const garbage = 'x'.repeat(100)
    for (let i = 0; i < 50_000; i++) socket.send(garbage)
    await new Promise((resolve) => setTimeout(resolve, 2000))
    for (const buffered of serverBuffered(server)) expect(buffered).toBeLessThan(2 * (1 << 20))
    socket.terminate()
  })
})
