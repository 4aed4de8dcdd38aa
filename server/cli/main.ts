import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { loadConfig } from '../config.js'
import { formatDevices, formatDevice, formatKeys, formatNewKey, formatUsers } from './format.js'

const USAGE = `trackstream: manage devices, merchants, keys and users on a running trackstream

  trackstream devices list [--owner O]
  trackstream devices add <id> --kind tracker|reader|network_server [--format F] [--owner O] [--scope S] [--name N]
  trackstream devices show <id>
  trackstream devices rotate-secret <id>
  trackstream devices disable <id> | enable <id>
  trackstream devices set-format <id> <format>
  trackstream readers place <deviceId> --station S --milestone M [--antenna PORT=MILESTONE[@STATION]]...
  trackstream readers list
  trackstream merchants add <id> --name N | merchants list
  trackstream keys create --name N --scope S [--scope S]... [--merchant M] [--expires ISO-TIME]
  trackstream keys list [--merchant M] | keys revoke <key-id>
  trackstream users add <email> --role admin|dispatcher|finance|claims|viewer|merchant [--merchant M] [--password P]
  trackstream users list | users disable <email> | users enable <email> | users set-role <email> <role> [--merchant M]

Options: --url (default http://127.0.0.1:<HTTP_PORT>), --json (print the API's answer).
Without --password, users add makes up a password and prints it once.
The API key comes from API_KEY, or DATA_DIR/api-key of the server started here.`

interface Options {
  url?: string
  json?: boolean
  kind?: string
  format?: string
  owner?: string
  scope?: string[]
  name?: string
  station?: string
  milestone?: string
  antenna?: string[]
  merchant?: string
  role?: string
  password?: string
  expires?: string
  help?: boolean
}

export async function run (argv: string[], out: (line: string) => void = console.log): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      json: { type: 'boolean' },
      kind: { type: 'string' },
      format: { type: 'string' },
      owner: { type: 'string' },
      scope: { type: 'string', multiple: true },
      name: { type: 'string' },
      station: { type: 'string' },
      milestone: { type: 'string' },
      antenna: { type: 'string', multiple: true },
      merchant: { type: 'string' },
      role: { type: 'string' },
      password: { type: 'string' },
      expires: { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  const options: Options = values
  const [group, command, ...rest] = positionals
  if (options.help === true || group === undefined) {
    out(USAGE)
    return group === undefined && options.help !== true ? 2 : 0
  }
  const api = await client(options)
  const show = (body: unknown, text: (b: never) => string): void => { out(options.json === true ? JSON.stringify(body, null, 2) : text(body as never)) }
  const id = rest[0] ?? ''
  switch (`${group} ${command ?? ''}`) {
    case 'devices list': {
      const body = await api('GET', '/api/devices')
      const items = (body as { items: Array<{ owner: string }> }).items.filter((d) => options.owner === undefined || d.owner === options.owner)
      show({ items }, formatDevices)
      return 0
    }
    case 'devices add':
      show(await api('POST', '/api/devices', { id, kind: options.kind, format: options.format, owner: options.owner, scope: options.scope?.at(-1), name: options.name }), formatDevice)
      return 0
    case 'devices show':
      show(await api('GET', `/api/devices/${encodeURIComponent(id)}`), formatDevice)
      return 0
    case 'devices rotate-secret':
      show(await api('POST', `/api/devices/${encodeURIComponent(id)}/secret`), formatDevice)
      return 0
    case 'devices disable':
    case 'devices enable':
      show(await api('PATCH', `/api/devices/${encodeURIComponent(id)}`, { disabled: command === 'disable' }), formatDevice)
      return 0
    case 'devices set-format':
      show(await api('PATCH', `/api/devices/${encodeURIComponent(id)}`, { format: rest[1] }), formatDevice)
      return 0
    case 'readers place': {
      const antennas = (options.antenna ?? []).map(parseAntenna)
      const body = await api('PUT', `/api/readers/${encodeURIComponent(id)}`, { stationId: options.station, milestone: options.milestone, name: options.name, antennas })
      show(body, (r: { deviceId: string, stationId: string, milestone: string }) => `${r.deviceId} placed at ${r.stationId}: its scans mean ${r.milestone}`)
      return 0
    }
    case 'readers list':
      show(await api('GET', '/api/readers'), (b: { items: Array<{ deviceId: string, stationId: string, milestone: string }> }) =>
        b.items.map((r) => `${r.deviceId}\t${r.stationId}\t${r.milestone}`).join('\n') || 'no readers')
      return 0
    case 'merchants add':
      show(await api('POST', '/api/merchants', { id, name: options.name }), (m: { id: string, name: string }) => `merchant ${m.id} (${m.name}) added`)
      return 0
    case 'merchants list':
      show(await api('GET', '/api/merchants'), (b: { items: Array<{ id: string, name: string }> }) => b.items.map((m) => `${m.id}\t${m.name}`).join('\n') || 'no merchants')
      return 0
    case 'keys create':
      show(await api('POST', '/api/keys', { name: options.name, scopes: options.scope, merchantId: options.merchant, expiresAt: options.expires }), formatNewKey)
      return 0
    case 'keys list': {
      const query = options.merchant === undefined ? '' : `?merchantId=${encodeURIComponent(options.merchant)}`
      show(await api('GET', `/api/keys${query}`), formatKeys)
      return 0
    }
    case 'keys revoke':
      show(await api('DELETE', `/api/keys/${encodeURIComponent(id)}`), (k: { id: string, revokedAt: string }) => `key ${k.id} revoked at ${k.revokedAt}`)
      return 0
    case 'users add': {
      const password = options.password ?? randomBytes(15).toString('base64url')
      const user = await api('POST', '/api/users', { email: id, role: options.role, merchantId: options.merchant, name: options.name, password })
      show(user, (u: { email: string, role: string }) => `user ${u.email} added as ${u.role}${options.password === undefined ? `\npassword: ${password}   (shown once)` : ''}`)
      return 0
    }
    case 'users list':
      show(await api('GET', '/api/users'), formatUsers)
      return 0
    case 'users disable':
    case 'users enable':
      show(await api('PATCH', `/api/users/${encodeURIComponent(id)}`, { disabled: command === 'disable' }),
        (u: { email: string, disabled: boolean, sessionsEnded: number }) => `${u.email} ${u.disabled ? 'disabled' : 'enabled'}; ${u.sessionsEnded} sessions ended`)
      return 0
    case 'users set-role':
      show(await api('PATCH', `/api/users/${encodeURIComponent(id)}`, { role: rest[1], ...(options.merchant === undefined ? {} : { merchantId: options.merchant }) }),
        (u: { email: string, role: string, sessionsEnded: number }) => `${u.email} is now ${u.role}; ${u.sessionsEnded} sessions ended`)
      return 0
    default:
      out(USAGE)
      return 2
  }
}

/** "1=loaded" or "2=unloaded@BKK-DOCK-2" */
function parseAntenna (text: string): { port: number, milestone: string, stationId?: string } {
  const match = /^(\d+)=([a-z_]+)(?:@(.+))?$/.exec(text)
  if (match === null) throw new UsageError(`--antenna ${text}: expected PORT=MILESTONE or PORT=MILESTONE@STATION`)
  const [, port, milestone, stationId] = match
  return { port: Number(port), milestone: milestone ?? '', ...(stationId === undefined ? {} : { stationId }) }
}

/** A mistake the user can fix: exit code 2 and one line, no stack. */
export class UsageError extends Error {}

type Api = (method: string, route: string, body?: unknown) => Promise<unknown>

async function client (options: Options): Promise<Api> {
  const config = loadConfig()
  const key = config.apiKey ?? await readFile(path.join(config.dataDir, 'api-key'), 'utf8').then((k) => k.trim()).catch(() => undefined)
  if (key === undefined) throw new UsageError(`no API key: set API_KEY, or run this where the server keeps ${path.join(config.dataDir, 'api-key')}`)
  const base = options.url ?? `http://127.0.0.1:${config.httpPort}`
  return async (method, route, body) => {
    let response: Response
    try {
      response = await fetch(`${base}${route}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body)
      })
    } catch (error) {
      throw new UsageError(`cannot reach trackstream at ${base} (${(error as Error).message}): is it running? use --url`)
    }
    const answer = await response.json() as { message?: string }
    if (!response.ok) throw new UsageError(`${method} ${route}: ${response.status} ${answer.message ?? ''}`)
    return answer
  }
}
