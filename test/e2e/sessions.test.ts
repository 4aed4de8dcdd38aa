import net from 'node:net'
import mqtt, { type MqttClient } from 'mqtt'
import mqttPacket, { type Packet } from 'mqtt-packet'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectDevice, eventually, refusedConnect } from '../support/clients.js'
import { startTestServer, type TestServer } from '../support/server.js'

interface DeviceStatus { status: { connected: boolean, rejects: Record<string, number> } }

/** A connection whose CONNACK is kept, to read sessionPresent. */
async function connectWithConnack (url: string, options: mqtt.IClientOptions): Promise<{ client: MqttClient, sessionPresent: boolean }> {
  return await new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options })
    client.once('connect', (connack) => { resolve({ client, sessionPresent: connack.sessionPresent }) })
    client.once('error', (error) => { client.end(true); reject(error) })
  })
}

/** A CONNECT written by hand, for what mqtt.js will not send; resolves with the CONNACK's return code. */
async function rawConnack (url: string, connect: { clientId: string, clean: boolean, username: string, password: string }): Promise<number> {
  const { hostname, port } = new URL(url)
  return await new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname)
    const parser = mqttPacket.parser()
    parser.on('packet', (packet: Packet) => {
      if (packet.cmd !== 'connack') return
      socket.destroy()
      resolve(packet.returnCode ?? -1)
    })
    socket.on('data', (chunk) => { parser.parse(chunk) })
    socket.on('error', reject)
    socket.write(connectPacket(connect))
  })
}

/** MQTT 3.1.1 CONNECT (section 3.1) with username and password; mqtt-packet will not generate an empty id with clean=0. */
function connectPacket ({ clientId, clean, username, password }: { clientId: string, clean: boolean, username: string, password: string }): Buffer {
  const string = (text: string): Buffer => {
    const bytes = Buffer.from(text)
    return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes])
  }
  const flags = 0x80 | 0x40 | (clean ? 0x02 : 0)
  const body = Buffer.concat([string('MQTT'), Buffer.from([4, flags, 0, 30]), string(clientId), string(username), string(password)])
  if (body.length > 127) throw new Error('keep the test CONNECT under 128 bytes')
  return Buffer.concat([Buffer.from([0x10, body.length]), body])
}

describe('a device\'s MQTT session is its own', () => {
  let server: TestServer
  let secrets: Record<'van-1' | 'van-2', string>
  const clients: MqttClient[] = []

  beforeAll(async () => {
    server = await startTestServer()
    secrets = { 'van-1': (await server.registerDevice('van-1')).secret, 'van-2': (await server.registerDevice('van-2')).secret }
  })
  afterAll(async () => {
    await Promise.all(clients.map(async (client) => { await client.endAsync(true) }))
    await server?.close()
  })

  const status = async (id: string): Promise<DeviceStatus['status']> =>
    (await server.api<DeviceStatus>('GET', `/api/devices/${id}`)).body.status

  it('refuses another device\'s id as a client id (CONNACK 2, identifier rejected) with either clean flag, and counts it', async () => {
    for (const clean of [true, false]) {
      const error = await refusedConnect(server.mqttUrl, { username: 'van-2', password: secrets['van-2'], clientId: 'van-1', clean })
      expect(error.code).toBe(2)
    }
    expect((await status('van-2')).rejects).toMatchObject({ client_id_not_own: 2 })
  })

  it('keeps a persistent session of van-1 out of reach of van-2 using the same client id form: no sessionPresent, no queued messages; van-1 resumes it without throwing van-2 off', async () => {
    // van-1 makes a persistent session with a subscription, then goes away
    const first = await connectWithConnack(server.mqttUrl, { username: 'van-1', password: secrets['van-1'], clientId: 'van-1-cab', clean: false })
    await first.client.subscribeAsync('ts/v1/van-1/commands', { qos: 1 })
    await first.client.endAsync()
    // a message queued for that session while it is offline
    const sender = await connectDevice(server.mqttUrl, 'van-1', secrets['van-1'])
    clients.push(sender)
    await sender.publishAsync('ts/v1/van-1/commands', 'for van-1 only', { qos: 1 })

    // van-2 asks for a session under the very same client id
    const intruder = await connectWithConnack(server.mqttUrl, { username: 'van-2', password: secrets['van-2'], clientId: 'van-1-cab', clean: false })
    clients.push(intruder.client)
    const received: string[] = []
    intruder.client.on('message', (_topic, payload) => { received.push(payload.toString()) })
    expect(intruder.sessionPresent).toBe(false)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(received).toEqual([])

    // van-1 comes back to its own session and gets what was queued for it
    const owner = await connectWithConnack(server.mqttUrl, { username: 'van-1', password: secrets['van-1'], clientId: 'van-1-cab', clean: false })
    clients.push(owner.client)
    expect(owner.sessionPresent).toBe(true)
    const delivered = await new Promise<string>((resolve) => { owner.client.once('message', (_topic, payload) => { resolve(payload.toString()) }) })
    expect(delivered).toBe('for van-1 only')
    // and van-2, under that same id, was not thrown off by it
    expect(intruder.client.connected).toBe(true)
  })

  it('never disconnects van-1 when van-2 connects with van-1\'s client id, with any flags', async () => {
    const owner = await connectDevice(server.mqttUrl, 'van-1', secrets['van-1'], { clientId: 'van-1' })
    clients.push(owner)
    for (const clean of [true, false]) {
      await refusedConnect(server.mqttUrl, { username: 'van-2', password: secrets['van-2'], clientId: 'van-1', clean })
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(owner.connected).toBe(true)
    await eventually(async () => { expect((await status('van-1')).connected).toBe(true) })
  })

  it('lets a device take over its own session, as MQTT says: the newer connection wins', async () => {
    const older = await connectDevice(server.mqttUrl, 'van-2', secrets['van-2'], { clientId: 'van-2' })
    const gone = new Promise<void>((resolve) => { older.once('close', () => { resolve() }) })
    const newer = await connectDevice(server.mqttUrl, 'van-2', secrets['van-2'], { clientId: 'van-2' })
    clients.push(older, newer)
    await gone
    expect(newer.connected).toBe(true)
  })

  it('accepts an empty client id for a clean session, and refuses it for a persistent one (MQTT-3.1.3-8)', async () => {
    const unnamed = await connectDevice(server.mqttUrl, 'van-2', secrets['van-2'], { clientId: '', clean: true })
    clients.push(unnamed)
    expect(unnamed.connected).toBe(true)
    expect(await rawConnack(server.mqttUrl, { username: 'van-2', password: secrets['van-2'], clientId: '', clean: false })).toBe(2)
    expect(await rawConnack(server.mqttUrl, { username: 'van-2', password: secrets['van-2'], clientId: '', clean: true })).toBe(0)
  })
})
