import os from 'node:os'
import path from 'node:path'

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
  /** MQTT over TLS, when a certificate is configured. */
  mqttTls: { port: number, certFile: string, keyFile: string } | undefined
  /** External broker mode (MQTT_URL): devices connect to that broker, and this process subscribes. */
  upstream: UpstreamConfig | undefined
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
    rfidWindowMs: read.integer('RFID_WINDOW_MS', 2000, 50, 600_000),
    mqttTls: undefined,
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
