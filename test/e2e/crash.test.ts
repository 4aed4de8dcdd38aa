import type { MqttClient } from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { deviceTopic } from '../../proto/topics.js'
import { connectDevice, eventually } from '../support/clients.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'
import { Fleet, type FleetDevice } from '../support/fleet.js'
import { messagesSeen, registerTracker } from '../support/remote.js'
import { expectEveryAckStoredOnce, killUnderLoad, Restartable, sleep } from '../support/restartable.js'
import { relayDatabase, type TcpProxy } from '../support/tcp-proxy.js'

describe('a crash at any moment loses nothing acknowledged', () => {
  let db: TestDatabase | undefined
  let proxy: TcpProxy | undefined
  let servers: Restartable | undefined
  let device: MqttClient | undefined
  let fleet: Fleet | undefined

  afterEach(async () => {
    await device?.endAsync(true)
    await fleet?.close()
    await servers?.stopAll()
    await proxy?.stop()
    await db?.drop()
    device = fleet = servers = proxy = db = undefined
  })

  it('a message resent on reconnect during an outage is not acknowledged before its first copy commits; killed then, it is stored after the restart', async () => {
    db = await createTestDatabase()
    const relay = await relayDatabase(db.url)
    proxy = relay.proxy
    servers = await Restartable.on(relay.url)
    await servers.start()
    const secret = await registerTracker(servers.httpUrl, 'van-r')
    device = await connectDevice(servers.mqttUrl, 'van-r', secret, { clientId: 'van-r', clean: false, reconnectPeriod: 200 })

    await proxy.cut()
    let acked = false
    const published = device.publishAsync(deviceTopic('van-r', 'fix'), JSON.stringify({ time: Date.now() - 1000, lat: 13.7, lon: 100.5, seq: 77 }), { qos: 1 })
      .then(() => { acked = true })
    await sleep(500)
    // the device drops its connection and comes back: mqtt.js resends the unacknowledged message
    // (its 'connect' event waits for that resend's PUBACK, so watch the server's count instead)
    device.stream.destroy()
    await eventually(async () => { expect(await messagesSeen(servers?.httpUrl ?? '', 'van-r')).toBe(2) }, 10_000)
    await sleep(1000)
    // the resend met the first copy in the dedupe stage; it must wait for that copy's commit
    expect(acked).toBe(false)

    await servers.kill()
    await proxy.restore()
    await servers.start()
    await published
    expect(acked).toBe(true)
    const { rows } = await db.pool.query<{ seq: string }>("SELECT seq::text FROM positions WHERE device_id = 'van-r'")
    expect(rows).toEqual([{ seq: '77' }])
  }, 90_000)

  it('killed -9 at random moments under load, five times over, it keeps every acknowledged fix exactly once', async () => {
    db = await createTestDatabase()
    servers = await Restartable.on(db.url)
    await servers.start()
    const devices: FleetDevice[] = []
    for (let i = 0; i < 10; i++) devices.push({ id: `van-k${i}`, secret: await registerTracker(servers.httpUrl, `van-k${i}`) })
    fleet = await Fleet.connect(servers.mqttUrl, devices)
    fleet.start(1000)
    await killUnderLoad(servers, fleet, 20_000)
    await expectEveryAckStoredOnce(fleet, db.pool)
  }, 180_000)
})
