import os from 'node:os'
import path from 'node:path'
import ipaddr from 'ipaddr.js'

/**
 * The one place that reads process.env. Every setting is validated here, once, at startup,
 * so a typo fails loudly with the setting's name instead of surfacing later as odd behaviour.
 */
export interface Config {
  host: string
  httpPort: number
  mqttPort: number
  /** Unset means: run an embedded PostgreSQL under dataDir. */
  databaseUrl: string | undefined
  dataDir: string
  redisUrl: string | undefined
  logLevel: LogLevel
  logFormat: 'pretty' | 'json'
  /** Unset means: generate one on first start and keep it in dataDir. */
  apiKey: string | undefined
  basemapStyleUrl: string | undefined
  /** An XYZ raster tile template ({z}/{x}/{y}) for the maps, instead of a whole style. */
  basemapTileUrl: string | undefined
  basemapAttribution: string | undefined
  retentionDays: number
  compressAfterDays: number
  maxMessageBytes: number
  /** Database: how long to wait for a connection, and for any one query's answer. */
  dbConnectTimeoutMs: number
  dbQueryTimeoutMs: number
  /** Messages read and not yet answered: per device (over all its MQTT connections), and across every device. */
  maxInflightPerDevice: number
  maxInflightTotal: number
  liveTickMs: number
  /** How often the webhook dispatcher looks for new events and due retries. */
  webhookPollMs: number
  /** How long one webhook delivery may take before it counts as failed. */
  webhookTimeoutMs: number
  /** The first retry's delay; each next one doubles (with jitter). Tests make it short. */
  webhookRetryBaseMs: number
  /** Deliveries in flight at once to one subscription: a slow receiver only delays itself. */
  webhookConcurrency: number
  /** WEBHOOK_ALLOW_PRIVATE: webhooks may go to loopback and private networks (tests, on-premises receivers); see server/webhooks/destination.ts. */
  webhookAllowPrivate: boolean
  /** Geofence rules: the band beyond a fence's edge that proves nothing, the time a crossing must hold, the worst usable accuracy. */
  geofence: { hysteresisM: number, minDwellMs: number, maxAccuracyM: number }
  /** When the tracking engine raises exceptions; see server/tracking/exceptions.ts. */
  exceptions: { sweepMs: number, stallSlaMs: number, customsSlaMs: number, vehicleSilentMs: number }
  /** ETAs: how often they are recomputed, how far one must move to be pushed to the buyer, time spent at each stop. */
  eta: { sweepMs: number, pushThresholdMs: number, serviceMs: number }
  /** Reads of a tag at a reader this close together are one visit. */
  rfidWindowMs: number
  /** Plain PostgreSQL: how often the KPI view is refreshed (TimescaleDB keeps it current itself). */
  kpiRefreshMs: number
  /** How often the once-only sweep builds the remittance batches that are due (server/plugins/remittances.ts). */
  remittanceSweepMs: number
  /** MQTT over TLS, when a certificate is configured. */
  mqttTls: { port: number, certFile: string, keyFile: string } | undefined
  /** HTTP_PORT over TLS (HTTP_TLS=true), with the certificate MQTT over TLS uses. */
  httpTls: { certFile: string, keyFile: string } | undefined
  /** Fastify's trustProxy (TRUST_PROXY): whose X-Forwarded-For, -Proto and -Host to believe. */
  trustProxy: boolean | string[]
  /** Origins besides the server's own that may open the ops WebSocket with a session cookie. */
  allowedOrigins: string[]
  /** Origins the pages may fetch from and show images of beyond the basemap's own (a style's glyphs, sprites, tiles). */
  cspExtraOrigins: string[]
  /** Sessions, logins and request rates: see server/plugins/auth.ts. */
  access: AccessConfig
  /** External broker mode (MQTT_URL): devices connect to that broker, and this process subscribes. */
  upstream: UpstreamConfig | undefined
}

export interface AccessConfig {
  /** A session unused this long ends; one never outlives sessionMaxMs. */
  sessionIdleMs: number
  sessionMaxMs: number
  /** Login attempts per client address per minute. */
  loginPerMinute: number
  /** Wrong passwords in a row an account takes before each next try waits, twice as long every time. */
  loginFreeTries: number
  /** Requests per API key (or per session) per minute; 0 turns the limit off (a proxy in front limits, or a bench). */
  keyPerMinute: number
  /** Requests to the public tracking endpoints per client address per minute; 0 turns the limit off. */
  trackingPerMinute: number
  /** Days a buyer's tracking link keeps working after the parcel's journey ended (delivered or returned). */
  trackingLinkDays: number
}

export interface UpstreamConfig {
  url: string
  /** Stable per processor: the broker keeps what it has not had acknowledged under this id. */
  clientId: string
  /** Processors sharing one stream through `$share/<group>/`; null for a plain subscription. */
  shareGroup: string | null
  filters: string[]
  protocolVersion: 4 | 5
  sessionExpirySeconds: number
  receiveMaximum: number
  keepaliveSeconds: number
}

/** Every topic tree trackstream decodes (gateway/routing.ts). */
export const UPSTREAM_DEFAULT_TOPICS = ['ts/v1/#', 'owntracks/#', 'v3/+/devices/+/+', 'application/+/device/+/event/+']

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

export class ConfigError extends Error {
  constructor (readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`)
    this.name = 'ConfigError'
  }
}

type Env = Record<string, string | undefined>

export function loadConfig (env: Env = process.env, cwd = process.cwd()): Config {
  const problems: string[] = []
  const read = new EnvReader(env, problems)
  const config: Config = {
    host: read.string('HOST', '0.0.0.0'),
    httpPort: read.port('HTTP_PORT', 8080),
    mqttPort: read.port('MQTT_PORT', 1883),
    databaseUrl: read.url('DATABASE_URL', ['postgres:', 'postgresql:']),
    dataDir: path.resolve(cwd, read.string('DATA_DIR', './data')),
    redisUrl: read.url('REDIS_URL', ['redis:', 'rediss:']),
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    logFormat: read.oneOf('LOG_FORMAT', ['pretty', 'json'] as const, 'pretty'),
    apiKey: read.optional('API_KEY'),
    basemapStyleUrl: read.url('BASEMAP_STYLE_URL', ['http:', 'https:']),
    basemapTileUrl: read.url('BASEMAP_TILE_URL', ['http:', 'https:']),
    basemapAttribution: read.optional('BASEMAP_ATTRIBUTION'),
    retentionDays: read.integer('RETENTION_DAYS', 365, 0, 36500),
    compressAfterDays: read.integer('COMPRESS_AFTER_DAYS', 7, 0, 36500),
    maxMessageBytes: read.integer('MAX_MESSAGE_BYTES', 256 * 1024, 1024, 16 * 1024 * 1024),
    dbConnectTimeoutMs: read.integer('DB_CONNECT_TIMEOUT_MS', 5000, 100, 600_000),
    dbQueryTimeoutMs: read.integer('DB_QUERY_TIMEOUT_MS', 15_000, 100, 3_600_000),
    maxInflightPerDevice: read.integer('MQTT_MAX_INFLIGHT', 100, 1, 65_535),
    maxInflightTotal: read.integer('INGEST_MAX_INFLIGHT', 20_000, 1, 10_000_000),
    liveTickMs: read.integer('LIVE_TICK_MS', 20, 5, 5000),
    webhookPollMs: read.integer('WEBHOOK_POLL_MS', 1000, 10, 60_000),
    webhookTimeoutMs: read.integer('WEBHOOK_TIMEOUT_MS', 10_000, 100, 120_000),
    webhookRetryBaseMs: read.integer('WEBHOOK_RETRY_BASE_MS', 180_000, 1, 3_600_000),
    webhookConcurrency: read.integer('WEBHOOK_CONCURRENCY', 4, 1, 100),
    webhookAllowPrivate: read.oneOf('WEBHOOK_ALLOW_PRIVATE', ['true', 'false'] as const, 'false') === 'true',
    geofence: {
      hysteresisM: read.integer('GEOFENCE_HYSTERESIS_M', 30, 0, 5000),
      minDwellMs: read.integer('GEOFENCE_DWELL_MS', 30_000, 0, 3_600_000),
      maxAccuracyM: read.integer('GEOFENCE_MAX_ACCURACY_M', 100, 1, 100_000)
    },
    exceptions: {
      sweepMs: read.integer('EXCEPTION_SWEEP_MS', 15_000, 10, 3_600_000),
      stallSlaMs: read.integer('STALL_SLA_MS', 48 * 3_600_000, 60_000, 365 * 86_400_000),
      customsSlaMs: read.integer('CUSTOMS_SLA_MS', 72 * 3_600_000, 60_000, 365 * 86_400_000),
      vehicleSilentMs: read.integer('VEHICLE_SILENT_MS', 15 * 60_000, 1000, 7 * 86_400_000)
    },
    eta: {
      sweepMs: read.integer('ETA_SWEEP_MS', 5000, 10, 3_600_000),
      pushThresholdMs: read.integer('ETA_PUSH_THRESHOLD_MS', 120_000, 0, 86_400_000),
      serviceMs: read.integer('STOP_SERVICE_MS', 180_000, 0, 3_600_000)
    },
    kpiRefreshMs: read.integer('KPI_REFRESH_MS', 60_000, 100, 86_400_000),
    remittanceSweepMs: read.integer('REMITTANCE_SWEEP_MS', 60_000, 100, 86_400_000),
    rfidWindowMs: read.integer('RFID_WINDOW_MS', 2000, 50, 600_000),
    access: {
      sessionIdleMs: read.integer('SESSION_IDLE_MINUTES', 30, 1, 7 * 24 * 60) * 60_000,
      sessionMaxMs: read.integer('SESSION_MAX_HOURS', 12, 1, 24 * 90) * 3_600_000,
      loginPerMinute: read.integer('LOGIN_RATE_PER_MINUTE', 10, 1, 100_000),
      loginFreeTries: read.integer('LOGIN_FREE_TRIES', 5, 1, 1000),
      keyPerMinute: read.integer('API_RATE_PER_MINUTE', 6000, 0, 1_000_000_000),
      trackingPerMinute: read.integer('TRACKING_RATE_PER_MINUTE', 120, 0, 1_000_000_000),
      trackingLinkDays: read.integer('TRACKING_LINK_DAYS', 90, 1, 3650)
    },
    mqttTls: undefined,
    httpTls: undefined,
    trustProxy: readTrustProxy(read.optional('TRUST_PROXY'), problems),
    allowedOrigins: readOrigins('ALLOWED_ORIGINS', read.optional('ALLOWED_ORIGINS'), false, problems),
    cspExtraOrigins: readOrigins('CSP_EXTRA_ORIGINS', read.optional('CSP_EXTRA_ORIGINS'), true, problems),
    upstream: undefined
  }
  const upstreamUrl = read.url('MQTT_URL', ['mqtt:', 'mqtts:'])
  if (upstreamUrl !== undefined) config.upstream = readUpstream(read, upstreamUrl, problems)
  const certFile = read.optional('TLS_CERT_FILE')
  const keyFile = read.optional('TLS_KEY_FILE')
  const tlsPort = read.port('MQTT_TLS_PORT', 8883)
  if ((certFile === undefined) !== (keyFile === undefined)) {
    problems.push('TLS_CERT_FILE and TLS_KEY_FILE go together: set both for MQTT over TLS, or neither')
  } else if (certFile !== undefined && keyFile !== undefined) {
    config.mqttTls = { port: tlsPort, certFile: path.resolve(cwd, certFile), keyFile: path.resolve(cwd, keyFile) }
    if (tlsPort !== 0 && (tlsPort === config.mqttPort || tlsPort === config.httpPort)) {
      problems.push(`MQTT_TLS_PORT ${tlsPort} is already HTTP_PORT or MQTT_PORT; give it its own port`)
    }
  }
  if (read.oneOf('HTTP_TLS', ['true', 'false'] as const, 'false') === 'true') {
    if (certFile !== undefined && keyFile !== undefined) config.httpTls = { certFile: path.resolve(cwd, certFile), keyFile: path.resolve(cwd, keyFile) }
    else if (certFile === undefined && keyFile === undefined) problems.push('HTTP_TLS=true serves HTTP over TLS with TLS_CERT_FILE and TLS_KEY_FILE: set both')
  }
  if (config.apiKey !== undefined && config.apiKey.length < 16) {
    problems.push('API_KEY must be at least 16 characters long')
  }
  if (config.basemapTileUrl !== undefined && !['{z}', '{x}', '{y}'].every((part) => config.basemapTileUrl?.includes(part))) {
    problems.push('BASEMAP_TILE_URL must hold {z}, {x} and {y}, e.g. https://tiles.example.com/{z}/{x}/{y}.png')
  }
  if (config.basemapTileUrl !== undefined && config.basemapStyleUrl !== undefined) {
    problems.push('BASEMAP_STYLE_URL and BASEMAP_TILE_URL both choose the basemap: set one of them')
  }
  if (config.httpPort !== 0 && config.httpPort === config.mqttPort) {
    problems.push(`HTTP_PORT and MQTT_PORT are both ${config.httpPort}; give them different ports`)
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return config
}

function readUpstream (read: EnvReader, url: string, problems: string[]): UpstreamConfig {
  const clientId = read.string('MQTT_CLIENT_ID', `trackstream-${os.hostname()}`)
  const group = read.string('MQTT_SHARE_GROUP', 'trackstream')
  const filters = (read.optional('MQTT_TOPICS') ?? UPSTREAM_DEFAULT_TOPICS.join(',')).split(',').map((topic) => topic.trim()).filter((topic) => topic !== '')
  const protocol = read.oneOf('MQTT_PROTOCOL', ['5', '3.1.1'] as const, '5')
  if (!/^[^/+#\s]{1,64}$/.test(group)) problems.push(`MQTT_SHARE_GROUP must be a name without /, + or #, or "none", got "${group}"`)
  if (filters.length === 0) problems.push('MQTT_TOPICS is set but holds no topic filter')
  if (clientId.length > 128 || /[/+#\s]/.test(clientId)) problems.push(`MQTT_CLIENT_ID must be at most 128 characters without /, +, # or spaces, got "${clientId}"`)
  const shareGroup = group === 'none' ? null : group
  if (shareGroup !== null && protocol !== '5') problems.push('shared subscriptions (MQTT_SHARE_GROUP) need MQTT_PROTOCOL=5; set MQTT_SHARE_GROUP=none to subscribe plainly over 3.1.1')
  return {
    url,
    clientId,
    shareGroup,
    filters,
    protocolVersion: protocol === '5' ? 5 : 4,
    sessionExpirySeconds: read.integer('MQTT_SESSION_EXPIRY_S', 7 * 86_400, 0, 4_294_967_295),
    receiveMaximum: read.integer('MQTT_RECEIVE_MAXIMUM', 2000, 1, 65_535),
    keepaliveSeconds: read.integer('MQTT_KEEPALIVE_S', 30, 1, 65_535)
  }
}

/** Names proxy-addr knows for address ranges, allowed in TRUST_PROXY's list. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal']

/**
 * TRUST_PROXY: unset or false, true (every peer: only where nothing but the proxy reaches this
 * port, since anyone else could then claim any address), or the proxies' addresses and CIDR
 * ranges. No hop count: it cannot tell the proxy from a client, and Fastify 5 trusts nobody for one.
 */
function readTrustProxy (raw: string | undefined, problems: string[]): boolean | string[] {
  if (raw === undefined || raw.toLowerCase() === 'false') return false
  if (raw.toLowerCase() === 'true') return true
  if (/^\d+$/.test(raw)) {
    problems.push(`TRUST_PROXY takes no hop count ("${raw}"): list the proxies' addresses or CIDR ranges, e.g. 10.0.0.0/8`)
    return false
  }
  const entries = raw.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
  const bad = entries.filter((entry) => !isAddressOrRange(entry))
  if (entries.length === 0 || bad.length > 0) {
    problems.push(`TRUST_PROXY must be true, false, or a comma-separated list of addresses and CIDR ranges (or loopback, linklocal, uniquelocal), got "${bad.length > 0 ? bad.join(', ') : raw}"`)
    return false
  }
  return entries
}

function isAddressOrRange (entry: string): boolean {
  if (PROXY_RANGE_NAMES.includes(entry)) return true
  const [address = '', bits, ...rest] = entry.split('/')
  // four-part decimal only: ipaddr.js would also take "0x7f.1" and "2130706433"
  const v4 = ipaddr.IPv4.isValidFourPartDecimal(address)
  if (rest.length > 0 || (!v4 && !ipaddr.IPv6.isValid(address))) return false
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (v4 ? 32 : 128))
}

/** A comma-separated list of origins (scheme://host[:port], nothing after it), normalized as browsers send them. */
function readOrigins (name: string, raw: string | undefined, wildcards: boolean, problems: string[]): string[] {
  if (raw === undefined) return []
  const origins: string[] = []
  for (const entry of raw.split(',').map((part) => part.trim()).filter((part) => part !== '')) {
    const origin = parseOrigin(entry, wildcards)
    if (origin !== undefined) origins.push(origin)
    else problems.push(`${name} must list origins such as https://maps.example.com${wildcards ? ' or https://*.example.com' : ''} (scheme, host, optional port; no path), separated by commas, got "${entry}"`)
  }
  return origins
}

function parseOrigin (entry: string, wildcard: boolean): string | undefined {
  const match = /^(https?):\/\/(\*\.)?([^/?#@]+?)\/?$/i.exec(entry)
  if (match === null || (match[2] !== undefined && !wildcard)) return undefined
  let url: URL
  try {
    url = new URL(`${match[1] as string}://${match[3] as string}`)
  } catch {
    return undefined
  }
  // these end up in a Content-Security-Policy header: nothing that could end a directive
  if (!/^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])$/.test(url.hostname)) return undefined
  return match[2] === undefined ? url.origin : `${url.protocol}//*.${url.host}`
}

class EnvReader {
  constructor (private readonly env: Env, private readonly problems: string[]) {}

  optional (name: string): string | undefined {
    const value = this.env[name]?.trim()
    return value === undefined || value === '' ? undefined : value
  }

  string (name: string, fallback: string): string {
    return this.optional(name) ?? fallback
  }

  integer (name: string, fallback: number, min: number, max: number): number {
    const raw = this.optional(name)
    if (raw === undefined) return fallback
    // plain decimal only: Number() would also take "0x1F90" and "1e3"
    const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`)
      return fallback
    }
    return value
  }

  port (name: string, fallback: number): number {
    return this.integer(name, fallback, 0, 65535)
  }

  oneOf<T extends string> (name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.optional(name)
    if (raw === undefined) return fallback
    const found = allowed.find((option) => option === raw.toLowerCase())
    if (found === undefined) {
      this.problems.push(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`)
      return fallback
    }
    return found
  }

  url (name: string, protocols: string[]): string | undefined {
    const raw = this.optional(name)
    if (raw === undefined) return undefined
    let protocol: string
    try {
      protocol = new URL(raw).protocol
    } catch {
      this.problems.push(`${name} is not a valid URL`)
      return undefined
    }
    if (!protocols.includes(protocol)) {
      this.problems.push(`${name} must start with ${protocols.map((p) => `${p}//`).join(' or ')}`)
      return undefined
    }
    return raw
  }
}
