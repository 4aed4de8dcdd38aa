import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectDevice, eventually, refusedConnect } from '../support/clients.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'
import { startTestServer, type TestServer } from '../support/server.js'

describe('two instances on one database keep one configuration', () => {
  let db: TestDatabase
  let a: TestServer
  let b: TestServer
  const clients: MqttClient[] = []

  beforeAll(async () => {
    db = await createTestDatabase()
    a = await startTestServer({ db })
    b = await startTestServer({ db })
  })
  afterAll(async () => {
    await Promise.all(clients.map(async (client) => { await client.endAsync(true) }))
    await a?.close()
    await b?.close()
    await db?.drop()
  })

  it('a device registered through A connects to B, and is thrown off B when A disables it', async () => {
    const { secret } = await a.registerDevice('van-sync')
    const client = await eventually(async () => await connectDevice(b.mqttUrl, 'van-sync', secret))
    clients.push(client)
    const closed = new Promise<void>((resolve) => { client.once('close', () => { resolve() }) })

    expect((await a.api('PATCH', '/api/devices/van-sync', { disabled: true })).status).toBe(200)
    await closed
    const error = await refusedConnect(b.mqttUrl, { username: 'van-sync', password: secret, clientId: 'van-sync-again' })
    expect(error.code).toBe(5)
  })

  it('a new secret issued through A is the only one B accepts', async () => {
    const { secret: old } = await a.registerDevice('van-rekey')
    await eventually(async () => { clients.push(await connectDevice(b.mqttUrl, 'van-rekey', old)) })
    const { body } = await a.api<{ secret: string }>('POST', '/api/devices/van-rekey/secret')
    await eventually(async () => {
      expect((await refusedConnect(b.mqttUrl, { username: 'van-rekey', password: old, clientId: 'van-rekey-old' })).code).toBe(4)
    })
    clients.push(await connectDevice(b.mqttUrl, 'van-rekey', body.secret))
  })

  it('listens again after its listening connection is cut, and hears what changed meanwhile', async () => {
    // every instance's LISTEN connection, as an outage or a failover would cut them
    const cut = async (): Promise<number> => (await db.pool.query<{ n: number }>(
      "SELECT count(pg_terminate_backend(pid, 5000))::int AS n FROM pg_stat_activity WHERE query = 'LISTEN trackstream_config' AND datname = current_database()")).rows[0]?.n ?? 0
    expect(await cut()).toBe(2)
    expect(await cut()).toBe(0)
    const { secret } = await a.registerDevice('van-relisten')
    clients.push(await eventually(async () => await connectDevice(b.mqttUrl, 'van-relisten', secret), 10_000))
    // both listen again
    await eventually(async () => { expect(await cut()).toBe(2) }, 10_000)
  })

  it('a geofence drawn on A and removed on B is gone from both', async () => {
    const fence = { id: 'hub-sync', name: 'Hub', kind: 'delivery_area', shape: { type: 'circle', lat: 13.7, lon: 100.5, radiusM: 300 } }
    expect((await a.api('POST', '/api/geofences', fence)).status).toBe(201)
    const ids = async (server: TestServer): Promise<string[]> =>
      (await server.api<{ items: Array<{ id: string }> }>('GET', '/api/geofences')).body.items.map((item) => item.id)
    await eventually(async () => { expect(await ids(b)).toContain('hub-sync') })
    expect((await b.api('DELETE', '/api/geofences/hub-sync')).status).toBe(204)
    await eventually(async () => { expect(await ids(a)).not.toContain('hub-sync') })
  })
})
