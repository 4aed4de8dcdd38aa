import { REJECT_REASONS, type RejectReason } from '../../gateway/rejects.js'

interface DeviceHealth {
  lastHeartbeatAt: string | null
  antennas: Array<{ port: number, connected: boolean, since: string }>
  inventory: { status: string, since: string } | null
  alerts: Array<{ level: string, message: string, since: string }>
}

interface DeviceStatus {
  id: string
  kind: string
  format: string
  disabled: boolean
  connect: { mqttTopics: string[], httpPath: string | null }
  status: { connected: boolean, lastSeenAt: string | null, messages: number, rejects: Partial<Record<RejectReason, number>> }
  health: DeviceHealth | null
}

const POLL_MS = 5000

/**
 * Device health for the ops desk: is it connected, when was it last heard, and, if it sends
 * nothing usable, why (wrong topic, wrong format, bad clock, bad credentials). A reader also says
 * what it reports of itself: each antenna port, its heartbeat, its inventory, its last error.
 */
export function startDevicePanel (table: HTMLTableSectionElement): void {
  const refresh = async (): Promise<void> => {
    const response = await fetch('/api/devices')
    if (!response.ok) return
    const { items } = await response.json() as { items: DeviceStatus[] }
    table.replaceChildren(...items.map(row))
  }
  void refresh()
  setInterval(() => { void refresh() }, POLL_MS)
}

function row (device: DeviceStatus): HTMLTableRowElement {
  const tr = document.createElement('tr')
  tr.dataset.device = device.id
  const state = device.disabled ? 'disabled' : device.status.connected ? 'connected' : 'offline'
  const stateCell = cell(state)
  if (device.health !== null) stateCell.append(...healthLines(device.health))
  const cells = [
    cell(device.id, `${device.kind}, ${device.format}; ${[...device.connect.mqttTopics, device.connect.httpPath].filter(Boolean).join(' or ')}`),
    stateCell,
    cell(device.status.lastSeenAt === null ? 'never' : ago(Date.parse(device.status.lastSeenAt))),
    cell(String(device.status.messages)),
    rejects(device.status.rejects)
  ]
  cells[1]?.classList.add(`state-${state}`)
  tr.append(...cells)
  return tr
}

/** A line for each thing the device said of itself that a person should see; problems stand out. */
function healthLines (health: DeviceHealth): HTMLDivElement[] {
  const lines: HTMLDivElement[] = []
  const line = (text: string, problem = false): void => {
    const div = document.createElement('div')
    div.textContent = text
    div.className = problem ? 'refused' : 'detail'
    lines.push(div)
  }
  const down = health.antennas.filter((antenna) => !antenna.connected)
  for (const antenna of down) line(`antenna ${antenna.port} disconnected ${ago(Date.parse(antenna.since))}`, true)
  const up = health.antennas.filter((antenna) => antenna.connected).map((antenna) => antenna.port)
  if (up.length > 0) line(`antenna${up.length > 1 ? 's' : ''} ${up.join(', ')} connected`)
  if (health.lastHeartbeatAt !== null) line(`heartbeat ${ago(Date.parse(health.lastHeartbeatAt))}`)
  if (health.inventory !== null) line(`inventory ${health.inventory.status}`, health.inventory.status === 'terminated')
  const error = health.alerts.find((alert) => alert.level === 'error')
  if (error !== undefined) line(`error: ${error.message}`, true)
  return lines
}

function rejects (counts: Partial<Record<RejectReason, number>>): HTMLTableCellElement {
  const td = document.createElement('td')
  const entries = Object.entries(counts) as Array<[RejectReason, number]>
  if (entries.length === 0) {
    td.textContent = '—'
    return td
  }
  td.className = 'refused'
  for (const [reason, count] of entries.sort((a, b) => b[1] - a[1])) {
    const item = document.createElement('div')
    item.textContent = `${reason.replaceAll('_', ' ')} ×${count}`
    item.title = REJECT_REASONS[reason]
    td.append(item)
  }
  return td
}

function cell (text: string, title?: string): HTMLTableCellElement {
  const td = document.createElement('td')
  td.textContent = text
  if (title !== undefined) td.title = title
  return td
}

function ago (time: number): string {
  const seconds = Math.max(0, Math.round((Date.now() - time) / 1000))
  if (seconds < 90) return `${seconds} s ago`
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`
  if (seconds < 129600) return `${Math.round(seconds / 3600)} h ago`
  return new Date(time).toLocaleDateString()
}
