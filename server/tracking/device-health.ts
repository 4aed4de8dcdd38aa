import type { DeviceEvent } from '../../gateway/decoders/format.js'

/** The aspects of a device's health that are kept, each by key (an antenna port, a pin). */
export type HealthAspect = 'heartbeat' | 'online' | 'antenna' | 'gpi' | 'gpo' | 'inventory' | 'alert'

/** What a device last said of one aspect of its health, and since when. */
export interface HealthRow {
  deviceId: string
  aspect: HealthAspect
  key: string
  value: Record<string, string | number | boolean | null>
  since: number
}

/** An antenna port's state at a moment: what opens or clears its exception. */
export interface AntennaState {
  deviceId: string
  port: string
  connected: boolean
  time: number
}

/** What one event says of its device's health; geofence events say nothing. Pure. */
export function healthOf (event: DeviceEvent): HealthRow[] {
  const row = (aspect: HealthAspect, key: string, value: HealthRow['value']): HealthRow =>
    ({ deviceId: event.deviceId, aspect, key, value, since: event.time })
  const { detail } = event
  switch (event.type) {
    case 'heartbeat':
      return [
        row('heartbeat', '', detail),
        ...Object.entries(detail).flatMap(([name, state]) => name.startsWith('antenna.')
          ? [row('antenna', name.slice('antenna.'.length), { connected: state === 'connected' })]
          : [])
      ]
    case 'online':
    case 'offline':
      return [row('online', '', { online: event.type === 'online' })]
    case 'antenna_connected':
    case 'antenna_disconnected':
      return [row('antenna', String(detail.port), { connected: event.type === 'antenna_connected' })]
    case 'gpi':
    case 'gpo':
      return [row(event.type, String(detail.pin), { state: detail.state ?? null })]
    case 'inventory_status':
      return [row('inventory', '', { status: detail.status ?? null })]
    case 'reader_alert':
      return [row('alert', String(detail.level ?? 'info'), { message: detail.message ?? null })]
    case 'geofence_enter':
    case 'geofence_leave':
      return []
  }
}

/**
 * The newest row for each device, aspect and key among a batch of events: what the batch changes.
 * An upsert can touch each row once per statement, so the batch is reduced first.
 */
export function newestHealth (events: readonly DeviceEvent[]): HealthRow[] {
  const newest = new Map<string, HealthRow>()
  for (const event of events) {
    for (const row of healthOf(event)) {
      const id = `${row.deviceId}\u0000${row.aspect}\u0000${row.key}`
      const known = newest.get(id)
      if (known === undefined || known.since <= row.since) newest.set(id, row)
    }
  }
  return [...newest.values()]
}

/** The antenna states among health rows. */
export function antennaStates (rows: readonly HealthRow[]): AntennaState[] {
  return rows.filter((row) => row.aspect === 'antenna')
    .map((row) => ({ deviceId: row.deviceId, port: row.key, connected: row.value.connected === true, time: row.since }))
}
