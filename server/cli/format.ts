interface DeviceView {
  id: string
  kind: string
  format: string
  owner: string
  scope: string | null
  disabled: boolean
  secret?: string
  connect: { mqttTopics: string[], httpPath: string | null, note: string }
  status: { connected: boolean, lastSeenAt: string | null, messages: number, fixes: number, scans: number, rejects: Record<string, number> }
}

/** One line per device: what an operator scans for first. */
export function formatDevices ({ items }: { items: DeviceView[] }): string {
  if (items.length === 0) return 'no devices'
  const rows = items.map((d) => [
    d.id, d.kind, d.format, d.owner, d.disabled ? 'disabled' : d.status.connected ? 'connected' : 'offline',
    d.status.lastSeenAt ?? 'never', String(d.status.messages), rejectSummary(d.status.rejects)
  ])
  return table([['ID', 'KIND', 'FORMAT', 'OWNER', 'STATE', 'LAST SEEN', 'MESSAGES', 'REJECTS'], ...rows])
}

export function formatDevice (d: DeviceView): string {
  return [
    `${d.id}: ${d.kind}, ${d.format}, owner ${d.owner}${d.scope === null ? '' : `, scope ${d.scope}`}${d.disabled ? ', DISABLED' : ''}`,
    ...(d.secret === undefined ? [] : [`secret: ${d.secret}   (shown once: give it to the device now)`]),
    ...d.connect.mqttTopics.map((t) => `MQTT topic: ${t}`),
    ...(d.connect.httpPath === null ? [] : [`HTTP: ${d.connect.httpPath}`]),
    d.connect.note,
    `last seen ${d.status.lastSeenAt ?? 'never'}; ${d.status.messages} messages, ${d.status.fixes} fixes, ${d.status.scans} scans; rejects: ${rejectSummary(d.status.rejects)}`
  ].join('\n')
}

function rejectSummary (rejects: Record<string, number>): string {
  const entries = Object.entries(rejects)
  return entries.length === 0 ? 'none' : entries.map(([reason, n]) => `${reason} ${n}`).join(', ')
}

function table (rows: string[][]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? []
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ').trimEnd()).join('\n')
}

interface KeyView { id: string, name: string, merchantId: string | null, scopes: string[], expiresAt: string | null, lastUsedAt: string | null, revokedAt: string | null, key?: string }

export function formatNewKey (k: KeyView): string {
  return [
    `key ${k.id} "${k.name}"${k.merchantId === null ? '' : ` for merchant ${k.merchantId}`}: ${k.scopes.join(', ')}${k.expiresAt === null ? '' : `, expires ${k.expiresAt}`}`,
    `key: ${k.key ?? ''}   (shown once: it is stored hashed)`
  ].join('\n')
}

export function formatKeys ({ items }: { items: KeyView[] }): string {
  if (items.length === 0) return 'no keys'
  const rows = items.map((k) => [k.id, k.name, k.merchantId ?? '-', k.scopes.join(','), k.revokedAt === null ? (k.expiresAt ?? 'never') : 'revoked', k.lastUsedAt ?? 'never'])
  return table([['ID', 'NAME', 'MERCHANT', 'SCOPES', 'EXPIRES', 'LAST USED'], ...rows])
}

interface UserView { email: string, role: string, merchantId: string | null, disabled: boolean }

export function formatUsers ({ items }: { items: UserView[] }): string {
  if (items.length === 0) return 'no users'
  return table([['EMAIL', 'ROLE', 'MERCHANT', 'STATE'], ...items.map((u) => [u.email, u.role, u.merchantId ?? '-', u.disabled ? 'disabled' : 'active'])])
}
