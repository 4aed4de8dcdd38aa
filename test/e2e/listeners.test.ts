import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MqttClient } from 'mqtt'
import { deviceTopic } from '../../proto/topics.js'
import { connectDevice, eventually, publish } from '../support/clients.js'
import { startTestServer, type TestServer } from '../support/server.js'

/** A listener inside the process with a bug must cost nothing but its own work. */
describe('a listener that throws', () => {
  let server: TestServer
  let van: MqttClient

  beforeAll(async () => {
    server = await startTestServer()
    const { secret } = await server.registerDevice('van-1')
    expect((await server.api('POST', '/api/parcels', { trackingNumber: 'TS-L1', destination: { city: 'Bangkok', country: 'TH' } })).status).toBe(201)
    van = await connectDevice(server.mqttUrl, 'van-1', secret)
  })

  afterAll(async () => {
    await van?.endAsync()
    await server?.close()
  })

  it('never fails a tracker\'s ingest or a milestone, and is counted', async () => {
    const heard: string[] = []
    server.app.events.on('positions', () => { throw new Error('a bug in a positions listener') })
    server.app.events.on('committed', () => { throw new Error('a bug in a milestones listener') })
    server.app.events.on('committed', (rows) => { heard.push(...rows.map((row) => row.code)) })
    server.app.bus.subscribe(() => { throw new Error('a bug in a viewer') })

    await publish(van, deviceTopic('van-1', 'fix'), JSON.stringify({ time: Date.now(), lat: 13.75, lon: 100.5 }))
    const stored = await server.db.pool.query("SELECT count(*)::int AS n FROM positions WHERE device_id = 'van-1'")
    expect(stored.rows[0]).toEqual({ n: 1 })
    expect((await server.api('POST', '/api/parcels/TS-L1/milestones', { code: 'picked_up' })).status).toBe(201)
    // the listener after the one that threw still ran
    await eventually(async () => { expect(heard).toEqual(['picked_up']) })
    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text()
    expect(metrics).toMatch(/trackstream_listener_errors_total\{event="positions"\} 1/)
    expect(metrics).toMatch(/trackstream_listener_errors_total\{event="committed"\} 1/)
    expect(metrics).toMatch(/trackstream_live_listener_errors_total\{kind="positions"\} 1/)
    expect(metrics).toMatch(/trackstream_live_listener_errors_total\{kind="milestones"\} 1/)
  })
})
