import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeFixBatch } from '../../proto/codec.js'
import { decodeLiveFrame, type LiveFrame } from '../../proto/live-codec.js'
import { deviceTopic } from '../../proto/topics.js'
import { connectDevice, FrameCollector, publish } from '../support/clients.js'
import { startTestServer, TEST_API_KEY, type TestServer } from '../support/server.js'

type Frame = LiveFrame | { type: 'error', error: string }
interface Received { binary: boolean, frame: Frame }

/** An ops client on /ws/live that keeps text and binary frames apart. */
type Feed = FrameCollector<Received>
const openFeed = async (url: string): Promise<Feed> => await FrameCollector.open<Received>(url, { authorization: `Bearer ${TEST_API_KEY}` },
  (data, binary) => ({ binary, frame: binary ? decodeLiveFrame(data) : JSON.parse(data.toString()) as Frame }))

const positionsOf = (r: Received): LiveFrame['positions'] => 'positions' in r.frame ? r.frame.positions : []

describe('the ops feed in protobuf, beside JSON, on a running server', () => {
  let server: TestServer
  let van: MqttClient
  let binary: Feed
  let json: Feed

  beforeAll(async () => {
    server = await startTestServer()
    const { secret } = await server.registerDevice('van-1')
    expect((await server.api('POST', '/api/vehicles', { id: 'V1', name: 'Van 1', deviceId: 'van-1' })).status).toBe(201)
    van = await connectDevice(server.mqttUrl, 'van-1', secret)
  })

  afterAll(async () => {
    binary?.close()
    json?.close()
    await van?.endAsync()
    await server?.close()
  })

  it('sends a binary snapshot to a client asking for protobuf, and JSON to one that does not', async () => {
    const time = Date.now() - 2000
    await publish(van, deviceTopic('van-1', 'fix'), JSON.stringify({ time, lat: -33.868820, lon: 151.209296, speed: 8.5, heading: 270, seq: 1 }))
    binary = await openFeed(`${server.wsUrl}/ws/live`)
    json = await openFeed(`${server.wsUrl}/ws/live`)
    // until a viewport says otherwise, a client gets the JSON it always got
    await binary.waitFor((r) => !r.binary && r.frame.type === 'snapshot')
    const asked = binary.frames.length
    binary.send({ type: 'viewport', bbox: null, format: 'protobuf' })
    json.send({ type: 'viewport', bbox: [150, -35, 152, -33] })

    const snapshot = await binary.waitFor((r) => r.frame.type === 'snapshot', 5000, asked)
    expect(snapshot.binary).toBe(true)
    const [van1] = positionsOf(snapshot)
    expect(van1).toEqual({ deviceId: 'van-1', vehicleId: 'V1', lat: -33.868820, lon: 151.209296, speed: expect.closeTo(8.5, 0.5 / 3.6), heading: 270, time })
    const text = await json.waitFor((r) => r.frame.type === 'snapshot' && positionsOf(r).length > 0)
    expect(text.binary).toBe(false)
    expect(positionsOf(text)).toEqual([{ deviceId: 'van-1', vehicleId: 'V1', lat: -33.868820, lon: 151.209296, speed: 8.5, heading: 270, time }])
  })

  it('sends what moved as binary positions frames that decode to the published fixes', async () => {
    const [binaryFrom, jsonFrom] = [binary.frames.length, json.frames.length]
    const t0 = Date.now() - 900
    const fixes = [[-33.87, 151.21], [-33.870001, 151.210123], [-33.870002, 151.210246]]
      .map(([lat, lon], i) => ({ time: t0 + i * 100, lat: lat as number, lon: lon as number, speed: 0, heading: 359, seq: 2 + i }))
    await publish(van, deviceTopic('van-1', 'fix'), encodeFixBatch(fixes))
    const newest = { deviceId: 'van-1', vehicleId: 'V1', lat: -33.870002, lon: 151.210246, speed: 0, heading: 359, time: t0 + 200 }
    // a positions frame of the first test's fix may still be on its way: wait for the one with these fixes
    const carriesNewest = (r: Received): boolean => r.frame.type === 'positions' && positionsOf(r).some((p) => p.time >= t0)
    const moved = await binary.waitFor(carriesNewest, 5000, binaryFrom)
    expect(moved.binary).toBe(true)
    expect(positionsOf(moved)).toEqual([newest])
    const same = await json.waitFor(carriesNewest, 5000, jsonFrom)
    expect(same.binary).toBe(false)
    expect(positionsOf(same)).toEqual([newest])
    expect(binary.frames.slice(binaryFrom).every((r) => r.binary)).toBe(true)
  })

  it('answers a malformed format with the JSON error frame and keeps the connection and its format', async () => {
    const from = binary.frames.length
    binary.send({ type: 'viewport', bbox: null, format: 'protobuffers' })
    const error = await binary.waitFor((r) => r.frame.type === 'error', 5000, from)
    expect(error.binary).toBe(false)
    expect(error.frame).toEqual({ type: 'error', error: expect.stringContaining('"format"?:"json"|"protobuf"') })

    const t = Date.now() - 500
    await publish(van, deviceTopic('van-1', 'fix'), JSON.stringify({ time: t, lat: -33.9, lon: 151.3, seq: 9 }))
    const moved = await binary.waitFor((r) => r.frame.type === 'positions', 5000, from)
    expect(moved.binary).toBe(true)
    expect(positionsOf(moved)).toEqual([{ deviceId: 'van-1', vehicleId: 'V1', lat: -33.9, lon: 151.3, speed: null, heading: null, time: t }])
  })

  it('goes back to JSON when a viewport message names no format', async () => {
    const from = binary.frames.length
    binary.send({ type: 'viewport', bbox: [151, -34, 152, -33] })
    const snapshot = await binary.waitFor((r) => r.frame.type === 'snapshot', 5000, from)
    expect(snapshot.binary).toBe(false)
    expect(positionsOf(snapshot).map((p) => p.deviceId)).toEqual(['van-1'])
  })

  it('sends nothing before the first viewport to a client that asks to wait (?snapshot=on-viewport), then its own snapshot', async () => {
    const waiting = await openFeed(`${server.wsUrl}/ws/live?snapshot=on-viewport`)
    try {
      await publish(van, deviceTopic('van-1', 'fix'), JSON.stringify({ time: Date.now() - 300, lat: -33.95, lon: 151.25, seq: 20 }))
      // the JSON client hears of the fix; the waiting one must not have heard anything by then
      await json.waitFor((r) => positionsOf(r).some((p) => p.lat === -33.95))
      await new Promise((resolve) => setTimeout(resolve, 100))
      expect(waiting.frames).toEqual([])
      waiting.send({ type: 'viewport', bbox: [151, -34, 152, -33], format: 'protobuf' })
      const first = await waiting.waitFor(() => true)
      expect(first.binary).toBe(true)
      expect(first.frame.type).toBe('snapshot')
      expect(positionsOf(first).map((p) => p.lat)).toEqual([-33.95])
    } finally {
      waiting.close()
    }
    expect((await fetch(`${server.httpUrl}/ws/live?snapshot=later`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } })).status).toBe(400)
  })
})
