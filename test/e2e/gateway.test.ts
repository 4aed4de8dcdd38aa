import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceTopic } from '../../proto/topics.js'
import { connectDevice, eventually, publish, refusedConnect } from '../support/clients.js'
import { startTestServer, type TestServer } from '../support/server.js'

interface DeviceStatus { status: { connected: boolean, messages: number, fixes: number, rejects: Record<string, number> } }

const goodFix = (seq: number): string => JSON.stringify({ time: Date.now() - 1000, lat: 13.75, lon: 100.5, seq })

async function closed (client: MqttClient): Promise<void> {
  if (client.disconnected) return
  await new Promise<void>((resolve) => { client.once('close', () => { resolve() }) })
}

describe('the broker refuses what it must, counts it, and keeps serving', () => {
  let server: TestServer
  let secret: string
  let otherSecret: string

  beforeAll(async () => {
    server = await startTestServer({ env: { MAX_MESSAGE_BYTES: '4096' } })
    secret = (await server.registerDevice('truck-1')).secret
    otherSecret = (await server.registerDevice('truck-2')).secret
  })
  afterAll(async () => { await server?.close() })

  const status = async (id: string): Promise<DeviceStatus['status']> =>
    (await server.api<DeviceStatus>('GET', `/api/devices/${id}`)).body.status

  it('refuses an unknown device with "bad username or password", and lists it for the operator', async () => {
    const error = await refusedConnect(server.mqttUrl, { username: 'ghost-7', password: 'whatever' })
    expect(error.code).toBe(4)
    const unknown = await server.api<{ items: Array<{ deviceId: string, attempts: number }> }>('GET', '/api/devices/unknown')
    expect(unknown.body.items).toEqual([expect.objectContaining({ deviceId: 'ghost-7', attempts: 1 })])
  })

  it('refuses a wrong secret and a missing password, counted on the device', async () => {
    expect((await refusedConnect(server.mqttUrl, { username: 'truck-1', password: 'not-the-secret' })).code).toBe(4)
    expect((await refusedConnect(server.mqttUrl, { username: 'truck-1' })).code).toBe(4)
    expect((await status('truck-1')).rejects).toMatchObject({ bad_secret: 1 })
  })

  it('disconnects a device that publishes to another device\'s topic, and stores nothing', async () => {
    const client = await connectDevice(server.mqttUrl, 'truck-1', secret)
    const gone = closed(client)
    client.publish(deviceTopic('truck-2', 'fix'), goodFix(1), { qos: 1 })
    await gone
    expect((await status('truck-1')).rejects).toMatchObject({ topic_not_allowed: 1 })
    const { rows } = await server.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM positions')
    expect(rows[0]?.n).toBe(0)
    client.end(true)
  })

  it('answers a subscription outside the device\'s own topics with a refusal, not a disconnect', async () => {
    const client = await connectDevice(server.mqttUrl, 'truck-1', secret)
    // mqtt.js turns SUBACK 0x80 into a rejection that carries the packet
    const refused = await client.subscribeAsync('ts/v1/#', { qos: 1 }).then(() => undefined, (error: { packet?: { granted: number[] } }) => error)
    expect(refused?.packet?.granted).toEqual([128])
    const own = await client.subscribeAsync(`ts/v1/truck-1/commands`, { qos: 1 })
    expect(own[0]?.qos).toBe(1)
    expect(client.connected).toBe(true)
    await client.endAsync()
  })

  it('counts malformed payloads by reason, keeps them, and keeps the connection and the broker serving', async () => {
    const client = await connectDevice(server.mqttUrl, 'truck-2', otherSecret)
    const topic = deviceTopic('truck-2', 'fix')
    await publish(client, topic, '{"lat": 13.7, "lon":')
    await publish(client, topic, Buffer.from([0xde, 0xad, 0xbe, 0xef]))
    await publish(client, topic, JSON.stringify([{ time: Date.now() - 1000, lat: 13.7, lon: 100.5 }, { time: Date.now() - 900, lon: 100.5 }]))
    await publish(client, topic, JSON.stringify({ time: Date.now() + 3600_000, lat: 13.7, lon: 100.5 }))
    await publish(client, 'ts/v1/truck-2/status', 'online')
    expect(client.connected).toBe(true)
    await publish(client, topic, goodFix(2))

    const counted = await status('truck-2')
    expect(counted.rejects).toEqual({ malformed_json: 1, malformed_protobuf: 1, invalid_fix: 1, time_in_future: 1, unknown_channel: 1 })
    expect(counted.fixes).toBe(2)
    const stored = await server.db.pool.query<{ reasons: string[], payload: Buffer }>('SELECT reasons, payload FROM ingest_rejects WHERE device_id = $1 ORDER BY received_at', ['truck-2'])
    expect(stored.rows.map((r) => r.reasons)).toEqual([['malformed_json'], ['malformed_protobuf'], ['invalid_fix'], ['time_in_future'], ['unknown_channel']])
    expect(stored.rows[1]?.payload).toEqual(Buffer.from([0xde, 0xad, 0xbe, 0xef]))
    const listed = await server.api<{ items: Array<{ detail: string }> }>('GET', '/api/rejects?deviceId=truck-2&limit=1')
    expect(listed.body.items[0]?.detail).toContain('unknown_channel')
    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text()
    expect(metrics).toMatch(/trackstream_rejects_total\{reason="malformed_json"\} 1/)
    await client.endAsync()
  })

  it('cuts a connection that sends a packet over MAX_MESSAGE_BYTES, and the broker serves others', async () => {
    const big = await connectDevice(server.mqttUrl, 'truck-2', otherSecret)
    const gone = closed(big)
    big.publish(deviceTopic('truck-2', 'fix'), Buffer.alloc(8192, 0x20), { qos: 1 })
    await gone
    big.end(true)
    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text()
    expect(metrics).toMatch(/trackstream_rejects_total\{reason="message_too_large"\} 1/)
    const other = await connectDevice(server.mqttUrl, 'truck-1', secret)
    await publish(other, deviceTopic('truck-1', 'fix'), goodFix(3))
    await other.endAsync()
  })

  it('drops the connection of a device that is disabled, and refuses it from then on', async () => {
    const client = await connectDevice(server.mqttUrl, 'truck-1', secret)
    await eventually(async () => { expect((await status('truck-1')).connected).toBe(true) })
    const gone = closed(client)
    expect((await server.api('PATCH', '/api/devices/truck-1', { disabled: true })).status).toBe(200)
    await gone
    client.end(true)
    expect((await refusedConnect(server.mqttUrl, { username: 'truck-1', password: secret })).code).toBe(5)
    await server.api('PATCH', '/api/devices/truck-1', { disabled: false })
  })

  it('a rotated secret replaces the old one at once', async () => {
    const rotated = await server.api<{ secret: string }>('POST', '/api/devices/truck-1/secret')
    expect(rotated.status).toBe(200)
    expect((await refusedConnect(server.mqttUrl, { username: 'truck-1', password: secret })).code).toBe(4)
    const client = await connectDevice(server.mqttUrl, 'truck-1', rotated.body.secret)
    await client.endAsync()
    secret = rotated.body.secret
  })

  it('speaks MQTT over WebSocket at /mqtt with the same rules', async () => {
    const client = await connectDevice(`${server.wsUrl}/mqtt`, 'truck-1', secret)
    await publish(client, deviceTopic('truck-1', 'fix'), goodFix(4))
    const { rows } = await server.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM positions WHERE device_id = $1 AND seq = 4', ['truck-1'])
    expect(rows[0]?.n).toBe(1)
    await client.endAsync()
    expect((await refusedConnect(`${server.wsUrl}/mqtt`, { username: 'ghost-8', password: 'x' })).code).toBe(4)
  })
})
