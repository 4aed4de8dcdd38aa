import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../server/config.js'

const CWD = path.resolve('/srv/trackstream')

function problemsOf (env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env, CWD)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  throw new Error('expected a ConfigError')
}

describe('loadConfig', () => {
  it('uses the documented defaults for an empty environment', () => {
    expect(loadConfig({}, CWD)).toEqual({
      host: '0.0.0.0',
      httpPort: 8080,
      mqttPort: 1883,
      databaseUrl: undefined,
      dataDir: path.join(CWD, 'data'),
      redisUrl: undefined,
      logLevel: 'info',
      logFormat: 'pretty',
      apiKey: undefined,
      basemapStyleUrl: undefined,
      basemapTileUrl: undefined,
      basemapAttribution: undefined,
      retentionDays: 365,
      compressAfterDays: 7,
      maxMessageBytes: 262_144,
      dbConnectTimeoutMs: 5000,
      dbQueryTimeoutMs: 15_000,
      maxInflightPerDevice: 100,
      maxInflightTotal: 20_000,
      liveTickMs: 20,
      webhookPollMs: 1000,
      webhookTimeoutMs: 10_000,
      webhookRetryBaseMs: 180_000,
      webhookConcurrency: 4,
      webhookAllowPrivate: false,
      geofence: { hysteresisM: 30, minDwellMs: 30_000, maxAccuracyM: 100 },
      kpiRefreshMs: 60_000,
      remittanceSweepMs: 60_000,
      rfidWindowMs: 2000,
      eta: { sweepMs: 5000, pushThresholdMs: 120_000, serviceMs: 180_000 },
      exceptions: { sweepMs: 15_000, stallSlaMs: 172_800_000, customsSlaMs: 259_200_000, vehicleSilentMs: 900_000 },
      access: { sessionIdleMs: 1_800_000, sessionMaxMs: 43_200_000, loginPerMinute: 10, loginFreeTries: 5, keyPerMinute: 6000, trackingPerMinute: 120, trackingLinkDays: 90 },
      mqttTls: undefined,
      httpTls: undefined,
      trustProxy: false,
      allowedOrigins: [],
      cspExtraOrigins: [],
      upstream: undefined
    })
  })

  it('resolves a relative DATA_DIR against the cwd argument, not the process cwd', () => {
    expect(loadConfig({ DATA_DIR: 'state/db' }, CWD).dataDir).toBe(path.join(CWD, 'state', 'db'))
    expect(loadConfig({ DATA_DIR: '../elsewhere' }, CWD).dataDir).toBe(path.resolve(CWD, '..', 'elsewhere'))
  })

  it('keeps an absolute DATA_DIR as it is', () => {
    const absolute = path.resolve('/var/lib/trackstream')
    expect(loadConfig({ DATA_DIR: absolute }, CWD).dataDir).toBe(absolute)
  })

  it('reads explicit values, trimming surrounding whitespace', () => {
    const config = loadConfig({
      HOST: ' 127.0.0.1 ',
      HTTP_PORT: ' 9000 ',
      MQTT_PORT: '0',
      DATABASE_URL: 'postgresql://u:p@db:5432/ts',
      REDIS_URL: 'rediss://cache:6380',
      LOG_FORMAT: 'json',
      API_KEY: '0123456789abcdef',
      BASEMAP_STYLE_URL: 'https://tiles.example.com/style.json',
      RETENTION_DAYS: '0',
      COMPRESS_AFTER_DAYS: '30',
      MAX_MESSAGE_BYTES: '1024',
      LIVE_TICK_MS: '5000'
    }, CWD)
    expect(config).toMatchObject({
      host: '127.0.0.1',
      httpPort: 9000,
      mqttPort: 0,
      databaseUrl: 'postgresql://u:p@db:5432/ts',
      redisUrl: 'rediss://cache:6380',
      logFormat: 'json',
      apiKey: '0123456789abcdef',
      basemapStyleUrl: 'https://tiles.example.com/style.json',
      retentionDays: 0,
      compressAfterDays: 30,
      maxMessageBytes: 1024,
      liveTickMs: 5000
    })
  })

  it('treats an empty or blank value as unset', () => {
    const config = loadConfig({ HTTP_PORT: '', LOG_LEVEL: '   ', API_KEY: '' }, CWD)
    expect([config.httpPort, config.logLevel, config.apiKey]).toEqual([8080, 'info', undefined])
  })

  it.each(['abc', '70000', '-1', '80.5'])('refuses HTTP_PORT %j with a ConfigError naming HTTP_PORT', (value) => {
    let caught: unknown
    try {
      loadConfig({ HTTP_PORT: value }, CWD)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(ConfigError)
    const error = caught as ConfigError
    expect(error.name).toBe('ConfigError')
    expect(error.problems).toEqual([`HTTP_PORT must be a whole number from 0 to 65535, got "${value}"`])
    expect(error.message).toContain('HTTP_PORT')
  })

  it('reports every problem at once', () => {
    const problems = problemsOf({ HTTP_PORT: 'abc', MQTT_PORT: '99999', LOG_LEVEL: 'loud', RETENTION_DAYS: '-3', API_KEY: 'short' })
    expect(problems).toEqual([
      'HTTP_PORT must be a whole number from 0 to 65535, got "abc"',
      'MQTT_PORT must be a whole number from 0 to 65535, got "99999"',
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"',
      'RETENTION_DAYS must be a whole number from 0 to 36500, got "-3"',
      'API_KEY must be at least 16 characters long'
    ])
  })

  it('lists all problems in the error message, one per line', () => {
    expect(() => loadConfig({ HTTP_PORT: 'abc', LOG_FORMAT: 'xml' }, CWD)).toThrow(
      'invalid configuration:\n  HTTP_PORT must be a whole number from 0 to 65535, got "abc"\n  LOG_FORMAT must be one of pretty, json, got "xml"'
    )
  })

  it('refuses a mysql:// DATABASE_URL', () => {
    expect(problemsOf({ DATABASE_URL: 'mysql://root@localhost/ts' })).toEqual(['DATABASE_URL must start with postgres:// or postgresql://'])
  })

  it('refuses a DATABASE_URL that is not a URL', () => {
    expect(problemsOf({ DATABASE_URL: 'localhost:5432' })).toEqual(['DATABASE_URL must start with postgres:// or postgresql://'])
    expect(problemsOf({ DATABASE_URL: 'not a url' })).toEqual(['DATABASE_URL is not a valid URL'])
  })

  it('accepts postgres:// and postgresql:// DATABASE_URLs', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://db/ts' }, CWD).databaseUrl).toBe('postgres://db/ts')
    expect(loadConfig({ DATABASE_URL: 'postgresql://db/ts' }, CWD).databaseUrl).toBe('postgresql://db/ts')
  })

  it('refuses a REDIS_URL with another scheme', () => {
    expect(problemsOf({ REDIS_URL: 'http://cache:6379' })).toEqual(['REDIS_URL must start with redis:// or rediss://'])
  })

  it('takes a raster tile template for the basemap only with {z}, {x} and {y}, and not beside a style', () => {
    const tiles = 'https://tiles.example.com/{z}/{x}/{y}.png'
    expect(loadConfig({ BASEMAP_TILE_URL: tiles, BASEMAP_ATTRIBUTION: '© Example' }, CWD)).toMatchObject({ basemapTileUrl: tiles, basemapAttribution: '© Example' })
    expect(problemsOf({ BASEMAP_TILE_URL: 'https://tiles.example.com/{z}/{x}.png' })).toEqual(['BASEMAP_TILE_URL must hold {z}, {x} and {y}, e.g. https://tiles.example.com/{z}/{x}/{y}.png'])
    expect(problemsOf({ BASEMAP_TILE_URL: 'ftp://tiles.example.com/{z}/{x}/{y}.png' })).toEqual(['BASEMAP_TILE_URL must start with http:// or https://'])
    expect(problemsOf({ BASEMAP_TILE_URL: tiles, BASEMAP_STYLE_URL: 'https://tiles.example.com/style.json' }))
      .toEqual(['BASEMAP_STYLE_URL and BASEMAP_TILE_URL both choose the basemap: set one of them'])
  })

  it('serves MQTT over TLS only with both a certificate and a key, on its own port', () => {
    expect(loadConfig({ TLS_CERT_FILE: 'c.pem', TLS_KEY_FILE: 'k.pem' }, CWD).mqttTls).toEqual({
      port: 8883, certFile: path.join(CWD, 'c.pem'), keyFile: path.join(CWD, 'k.pem')
    })
    expect(problemsOf({ TLS_CERT_FILE: 'c.pem' })).toEqual(['TLS_CERT_FILE and TLS_KEY_FILE go together: set both for MQTT over TLS, or neither'])
    expect(problemsOf({ TLS_CERT_FILE: 'c.pem', TLS_KEY_FILE: 'k.pem', MQTT_TLS_PORT: '1883' })).toEqual(['MQTT_TLS_PORT 1883 is already HTTP_PORT or MQTT_PORT; give it its own port'])
  })

  it('accepts only plain decimal numbers: no hex, exponents or fractions', () => {
    for (const raw of ['0x1F90', '1e3', '80.5', '+80', '-1']) {
      expect(() => loadConfig({ HTTP_PORT: raw }, CWD), raw).toThrow(/HTTP_PORT must be a whole number/)
    }
  })

  it('refuses HTTP_PORT equal to MQTT_PORT', () => {
    expect(problemsOf({ HTTP_PORT: '1883' })).toEqual(['HTTP_PORT and MQTT_PORT are both 1883; give them different ports'])
    expect(problemsOf({ HTTP_PORT: '9000', MQTT_PORT: '9000' })).toEqual(['HTTP_PORT and MQTT_PORT are both 9000; give them different ports'])
  })

  it('allows both ports to be 0, meaning any free port each', () => {
    expect(loadConfig({ HTTP_PORT: '0', MQTT_PORT: '0' }, CWD)).toMatchObject({ httpPort: 0, mqttPort: 0 })
  })

  it('refuses an API_KEY shorter than 16 characters and accepts one of exactly 16', () => {
    expect(problemsOf({ API_KEY: '0123456789abcde' })).toEqual(['API_KEY must be at least 16 characters long'])
    expect(loadConfig({ API_KEY: '0123456789abcdef' }, CWD).apiKey).toBe('0123456789abcdef')
  })

  it('reads LOG_LEVEL case-insensitively', () => {
    expect(loadConfig({ LOG_LEVEL: 'DEBUG' }, CWD).logLevel).toBe('debug')
    expect(loadConfig({ LOG_LEVEL: 'Warn' }, CWD).logLevel).toBe('warn')
  })

  it.each([
    ['MAX_MESSAGE_BYTES', '1023', 'MAX_MESSAGE_BYTES must be a whole number from 1024 to 16777216, got "1023"'],
    ['LIVE_TICK_MS', '4', 'LIVE_TICK_MS must be a whole number from 5 to 5000, got "4"'],
    ['COMPRESS_AFTER_DAYS', 'seven', 'COMPRESS_AFTER_DAYS must be a whole number from 0 to 36500, got "seven"']
  ])('refuses %s=%s outside its range', (name, value, problem) => {
    expect(problemsOf({ [name]: value })).toEqual([problem])
  })

  it('ignores variables it does not know', () => {
    expect(loadConfig({ PATH: '/usr/bin', HTTPPORT: 'abc' }, CWD).httpPort).toBe(8080)
  })

  it('reads external broker mode from MQTT_URL, with a shared group, persistent session and every topic tree by default', () => {
    const { upstream } = loadConfig({ MQTT_URL: 'mqtt://ingest:pw@broker:1883', MQTT_CLIENT_ID: 'proc-1' }, CWD)
    expect(upstream).toEqual({
      url: 'mqtt://ingest:pw@broker:1883',
      clientId: 'proc-1',
      shareGroup: 'trackstream',
      filters: ['ts/v1/#', 'owntracks/#', 'v3/+/devices/+/+', 'application/+/device/+/event/+'],
      protocolVersion: 5,
      sessionExpirySeconds: 604_800,
      receiveMaximum: 2000,
      keepaliveSeconds: 30
    })
    expect(loadConfig({ MQTT_URL: 'mqtts://b', MQTT_SHARE_GROUP: 'none', MQTT_PROTOCOL: '3.1.1', MQTT_TOPICS: 'v3/app@ttn/devices/+/up' }, CWD).upstream)
      .toMatchObject({ shareGroup: null, protocolVersion: 4, filters: ['v3/app@ttn/devices/+/up'] })
  })

  it('names what is wrong with the external broker settings', () => {
    expect(problemsOf({ MQTT_URL: 'http://broker' })).toEqual(['MQTT_URL must start with mqtt:// or mqtts://'])
    expect(problemsOf({ MQTT_URL: 'mqtt://b', MQTT_PROTOCOL: '3.1.1' })).toEqual([
      'shared subscriptions (MQTT_SHARE_GROUP) need MQTT_PROTOCOL=5; set MQTT_SHARE_GROUP=none to subscribe plainly over 3.1.1'
    ])
    expect(problemsOf({ MQTT_URL: 'mqtt://b', MQTT_SHARE_GROUP: 'a/b', MQTT_CLIENT_ID: 'has space', MQTT_RECEIVE_MAXIMUM: '0' })).toEqual([
      'MQTT_SHARE_GROUP must be a name without /, + or #, or "none", got "a/b"',
      'MQTT_CLIENT_ID must be at most 128 characters without /, +, # or spaces, got "has space"',
      'MQTT_RECEIVE_MAXIMUM must be a whole number from 1 to 65535, got "0"'
    ])
  })
})
