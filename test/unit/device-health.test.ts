import { describe, expect, it } from 'vitest'
import type { DeviceEvent } from '../../gateway/decoders/format.js'
import { antennaStates, healthOf, newestHealth } from '../../server/tracking/device-health.js'

const T0 = Date.UTC(2026, 10, 23, 3, 0, 0)
const at = (seconds: number, type: DeviceEvent['type'], detail: DeviceEvent['detail'] = {}, deviceId = 'dock-1'): DeviceEvent =>
  ({ deviceId, time: T0 + seconds * 1000, type, detail })

describe('healthOf', () => {
  it('reads a heartbeat as the heartbeat itself and the state of each antenna it names', () => {
    expect(healthOf(at(0, 'heartbeat', { status: 'running', 'antenna.1': 'connected', 'antenna.2': 'disconnected' }))).toEqual([
      { deviceId: 'dock-1', aspect: 'heartbeat', key: '', value: { status: 'running', 'antenna.1': 'connected', 'antenna.2': 'disconnected' }, since: T0 },
      { deviceId: 'dock-1', aspect: 'antenna', key: '1', value: { connected: true }, since: T0 },
      { deviceId: 'dock-1', aspect: 'antenna', key: '2', value: { connected: false }, since: T0 }
    ])
  })

  it.each([
    [at(0, 'antenna_disconnected', { port: 3 }), 'antenna', '3', { connected: false }],
    [at(0, 'antenna_connected', { port: 3 }), 'antenna', '3', { connected: true }],
    [at(0, 'gpi', { pin: 1, state: 'high' }), 'gpi', '1', { state: 'high' }],
    [at(0, 'gpo', { pin: 2, state: 'low' }), 'gpo', '2', { state: 'low' }],
    [at(0, 'inventory_status', { status: 'idle' }), 'inventory', '', { status: 'idle' }],
    [at(0, 'reader_alert', { level: 'error', message: 'radio lost' }), 'alert', 'error', { message: 'radio lost' }],
    [at(0, 'online', { status: 'hello' }), 'online', '', { online: true }],
    [at(0, 'offline'), 'online', '', { online: false }]
  ])('reads %j as one row', (event, aspect, key, value) => {
    expect(healthOf(event)).toEqual([{ deviceId: 'dock-1', aspect, key, value, since: T0 }])
  })

  it('says nothing of health for a geofence crossing', () => {
    expect(healthOf(at(0, 'geofence_enter', { fence: 'BKK' }))).toEqual([])
  })
})

describe('newestHealth', () => {
  it('keeps the newest row of each device, aspect and key, whatever order the events came in', () => {
    const rows = newestHealth([
      at(20, 'antenna_connected', { port: 2 }),
      at(10, 'antenna_disconnected', { port: 2 }),
      at(15, 'antenna_disconnected', { port: 1 }),
      at(5, 'heartbeat', { 'antenna.1': 'connected' }),
      at(1, 'antenna_disconnected', { port: 2 }, 'dock-2')
    ])
    expect(antennaStates(rows)).toEqual([
      { deviceId: 'dock-1', port: '2', connected: true, time: T0 + 20_000 },
      { deviceId: 'dock-1', port: '1', connected: false, time: T0 + 15_000 },
      { deviceId: 'dock-2', port: '2', connected: false, time: T0 + 1000 }
    ])
    expect(rows.filter((row) => row.aspect === 'heartbeat').map((row) => row.since)).toEqual([T0 + 5000])
  })
})
