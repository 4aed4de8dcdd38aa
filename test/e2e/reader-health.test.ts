import { readFileSync } from 'node:fs'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceTopic } from '../../proto/topics.js'
import { connectDevice, publish } from '../support/clients.js'
import { startTestServer, type TestServer } from '../support/server.js'

const fixture = (path: string): Buffer => readFileSync(new URL(`../fixtures/${path}`, import.meta.url))

interface Health {
  online: { online: boolean, since: string } | null
  lastHeartbeatAt: string | null
  antennas: Array<{ port: number, connected: boolean, since: string }>
  gpi: Array<{ pin: number, state: string, since: string }>
  inventory: { status: string, since: string } | null
  alerts: Array<{ level: string, message: string, since: string }>
}
interface Device { health: Health, status: { rejects: Record<string, number>, events: number } }
interface Exception { kind: string, deviceId: string | null, detail: { port?: string }, openedAt: string, clearedAt: string | null }

/** Vendor housekeeping over MQTT, from each vendor's documented forms: health and device events, never refusals. */
describe('a reader\'s own health', () => {
  let server: TestServer
  let impinj: MqttClient
  let zebra: MqttClient

  beforeAll(async () => {
    // the fixtures are from 2023 and 2024
    server = await startTestServer({ env: { RETENTION_DAYS: '0' } })
    impinj = await connectDevice(server.mqttUrl, 'r700-dock', (await server.registerDevice('r700-dock', 'reader', { format: 'impinj' })).secret)
    zebra = await connectDevice(server.mqttUrl, 'fx-dock', (await server.registerDevice('fx-dock', 'reader', { format: 'zebra' })).secret)
  })
  afterAll(async () => {
    await impinj?.endAsync()
    await zebra?.endAsync()
    await server?.close()
  })

  const device = async (id: string): Promise<Device> => (await server.api<Device>('GET', `/api/devices/${id}`)).body
  const exceptions = async (state: 'open' | 'all'): Promise<Exception[]> =>
    (await server.api<{ items: Exception[] }>('GET', `/api/exceptions?state=${state}&kind=antenna_disconnected`)).body.items

  it('Impinj: an antenna disconnected is the reader\'s state and an open exception of its port; connected again clears it', async () => {
    await publish(impinj, deviceTopic('r700-dock', 'scan'), fixture('impinj/constructed-antenna-disconnected.json'))
    expect((await device('r700-dock')).health.antennas).toEqual([{ port: 2, connected: false, since: '2024-03-14T09:30:00.123Z' }])
    expect(await exceptions('open')).toEqual([expect.objectContaining({ kind: 'antenna_disconnected', deviceId: 'r700-dock', detail: { port: '2' }, openedAt: '2024-03-14T09:30:00.123Z', clearedAt: null })])

    await publish(impinj, deviceTopic('r700-dock', 'scan'), fixture('impinj/constructed-antenna-connected.json'))
    expect((await device('r700-dock')).health.antennas).toEqual([{ port: 2, connected: true, since: '2024-03-14T09:41:12.500Z' }])
    expect(await exceptions('open')).toEqual([])
    expect(await exceptions('all')).toEqual([expect.objectContaining({ deviceId: 'r700-dock', clearedAt: '2024-03-14T09:41:12.500Z' })])
  })

  it('Impinj: a late "disconnected" older than the reader\'s last word changes nothing', async () => {
    await publish(impinj, deviceTopic('r700-dock', 'scan'), fixture('impinj/constructed-antenna-disconnected.json'))
    expect((await device('r700-dock')).health.antennas).toEqual([{ port: 2, connected: true, since: '2024-03-14T09:41:12.500Z' }])
    expect(await exceptions('open')).toEqual([])
  })

  it('Impinj: inventory status, GPI, overflow and the webhook keep-alive are recorded, none refused', async () => {
    for (const file of ['constructed-inventory-status.json', 'constructed-gpi-transition-no-event-type.json', 'constructed-overflow.json', 'constructed-webhook-keepalive.json']) {
      await publish(impinj, deviceTopic('r700-dock', 'scan'), fixture(`impinj/${file}`))
    }
    await publish(impinj, 'ts/v1/r700-dock/scan', 'connected')
    const { health, status } = await device('r700-dock')
    expect(status.rejects).toEqual({})
    expect(health.inventory).toEqual({ status: 'idle', since: '2024-03-14T09:30:05.000Z' })
    expect(health.gpi).toEqual([{ pin: 1, state: 'high', since: '2024-03-14T09:31:00.250Z' }])
    expect(health.alerts).toEqual([expect.objectContaining({ level: 'warning', message: expect.stringContaining('1200 events were purged') })])
    expect(health.lastHeartbeatAt).not.toBeNull()
    expect(health.online?.online).toBe(true)
    const events = (await server.api<{ items: Array<{ type: string }> }>('GET', '/api/devices/r700-dock/events')).body.items.map((e) => e.type)
    expect(events).toEqual(expect.arrayContaining(['antenna_disconnected', 'antenna_connected', 'inventory_status', 'gpi', 'reader_alert', 'heartbeat', 'online']))
  })

  it('Zebra: a heartbeat naming a disconnected antenna opens its exception; the next heartbeat with it connected clears it', async () => {
    const heartbeat = JSON.parse(fixture('zebra/constructed-heartbeat.json').toString()) as { timestamp: string, data: { radio_control: { antennas: Record<string, string> } } }
    await publish(zebra, deviceTopic('fx-dock', 'scan'), JSON.stringify(heartbeat))
    const { health, status } = await device('fx-dock')
    expect(status.rejects).toEqual({})
    expect(health.lastHeartbeatAt).toBe('2023-02-24T10:19:57.878Z')
    expect(health.antennas.map((a) => [a.port, a.connected])).toEqual([[1, true], [2, false], [3, true], [4, true]])
    expect((await exceptions('open')).map((e) => [e.deviceId, e.detail.port])).toEqual([['fx-dock', '2']])

    heartbeat.timestamp = '2023-02-24T10:20:57.878+0000'
    heartbeat.data.radio_control.antennas['2'] = 'connected'
    await publish(zebra, deviceTopic('fx-dock', 'scan'), JSON.stringify(heartbeat))
    expect((await device('fx-dock')).health.antennas.every((a) => a.connected)).toBe(true)
    expect(await exceptions('open')).toEqual([])
  })

  it('Zebra: GPI and error events become pin states and alerts', async () => {
    await publish(zebra, deviceTopic('fx-dock', 'scan'), fixture('zebra/constructed-gpi.json'))
    await publish(zebra, deviceTopic('fx-dock', 'scan'), fixture('zebra/constructed-error.json'))
    const { health, status } = await device('fx-dock')
    expect(status.rejects).toEqual({})
    expect(health.gpi).toEqual([{ pin: 1, state: 'high', since: '2023-02-24T10:20:01.003Z' }])
    expect(health.alerts).toEqual([{ level: 'error', message: 'antenna 2 disconnected', since: '2023-02-24T10:20:02.500Z' }])
  })
})
