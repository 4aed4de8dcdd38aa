import { readFile } from 'node:fs/promises'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import { redacted } from '../gateway/upstream.js'
import { buildApp } from './app.js'
import { resolveApiKey } from './auth/api-key.js'
import { loadConfig, type Config } from './config.js'
import type { EmbeddedDatabase } from './db/embedded.js'
import { createLogger } from './logger.js'
import { explainStartupError, ListenError } from './startup-errors.js'

/** `npm start`: the broker, the pipeline, the API, the dashboard, and PostgreSQL if none is given. */
async function main (): Promise<void> {
  let config: Config | undefined
  let embedded: EmbeddedDatabase | undefined
  let app: FastifyInstance | undefined
  try {
    config = loadConfig()
    const logger = createLogger(config)
    if (config.databaseUrl === undefined) {
      const { startEmbeddedPostgres } = await import('./db/embedded.js')
      embedded = await startEmbeddedPostgres(config.dataDir, {
        debug: (line) => { logger.debug({ postgres: line }, 'embedded PostgreSQL') },
        warn: (message) => { logger.warn(message) }
      })
    }
    const apiKey = await resolveApiKey(config.apiKey, config.dataDir)
    app = await buildApp({ config, databaseUrl: config.databaseUrl ?? (embedded as EmbeddedDatabase).url, apiKey: apiKey.key, logger })
    await listen('HTTP_PORT', config.httpPort, config.host, async () => { await app?.listen({ port: config?.httpPort, host: config?.host }) })
    // accepting can fail once listening (EMFILE under a connection flood): log it and keep serving
    app.server.on('error', (error) => { app?.log.warn({ reason: error.message }, 'HTTP listener could not accept a connection') })
    // external broker mode: devices connect to MQTT_URL's broker, not to this process
    if (config.upstream === undefined) await listen('MQTT_PORT', config.mqttPort, config.host, async () => { await app?.gateway.listen(config?.mqttPort ?? 0, config?.host ?? '') })
    const tls = config.mqttTls
    if (tls !== undefined && config.upstream === undefined) {
      const credentials = { cert: await readFile(tls.certFile), key: await readFile(tls.keyFile) }
      await listen('MQTT_TLS_PORT', tls.port, config.host, async () => { await app?.gateway.listenTls(tls.port, config?.host ?? '', credentials) })
    }
    printBanner(app, config, embedded, apiKey.origin)
    handleSignals(app, embedded)
  } catch (error) {
    const explained = explainStartupError(error, config?.databaseUrl)
    if (explained === undefined) console.error(error)
    else console.error(`trackstream: ${explained}`)
    await app?.close().catch(() => {})
    await embedded?.stop()
    process.exit(1)
  }
}

async function listen (setting: string, port: number, host: string, start: () => Promise<void>): Promise<void> {
  try {
    await start()
  } catch (error) {
    throw new ListenError(setting, port, host, error)
  }
}

function printBanner (app: FastifyInstance, config: Config, embedded: EmbeddedDatabase | undefined, apiKeyOrigin: string): void {
  const shown = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host
  const httpPort = (app.server.address() as { port: number }).port
  // HTTP_TLS: the dashboard, the API and MQTT over WebSocket all go over TLS on HTTP_PORT
  const [web, ws] = config.httpTls === undefined ? ['http', 'ws'] : ['https', 'wss']
  const { info, policy } = app.db
  const relative = (file: string): string => path.relative(process.cwd(), file) || '.'
  const database = embedded === undefined
    ? `${info.server} from DATABASE_URL`
    : `embedded ${info.server}, data in ${relative(path.join(config.dataDir, 'postgres'))}${embedded.adopted ? ' (took over the server a previous run left running)' : ''}`
  const retention = policy.retentionDays === 0 ? 'kept forever' : `kept ${policy.retentionDays} days`
  const storage = info.timescaledb === null
    ? `TimescaleDB not active (${info.timescaledbAbsentBecause ?? 'unknown'}): plain tables, telemetry ${retention} by hourly delete, no compression`
    : `TimescaleDB ${info.timescaledb} active: hypertables, telemetry ${retention}, compressed after ${policy.compressAfterDays === 0 ? 'never' : `${policy.compressAfterDays} days`}`
  app.log.info([
    'trackstream is running',
    `  dashboard   ${web}://${shown}:${httpPort}/   API docs ${web}://${shown}:${httpPort}/docs`,
    config.upstream === undefined
      ? `  MQTT        mqtt://${shown}:${app.gateway.port}   and ${ws}://${shown}:${httpPort}/mqtt` +
        (app.gateway.tlsPort === undefined ? '   (no TLS: set TLS_CERT_FILE and TLS_KEY_FILE)' : `   and mqtts://${shown}:${app.gateway.tlsPort}`)
      : `  MQTT        subscribed to ${redacted(config.upstream.url)} as ${config.upstream.clientId}` +
        (config.upstream.shareGroup === null ? '' : ` in shared group ${config.upstream.shareGroup}`),
    `  HTTP in     /osmand (Traccar Client, OsmAnd), /owntracks, /api/ingest/{fix,scan}, /integrations/{ttn,chirpstack}`,
    `  database    ${database}`,
    `  storage     ${storage}`,
    `  API key     ${apiKeyOrigin === 'API_KEY' ? 'from API_KEY' : `in ${relative(apiKeyOrigin)}`}`,
    '  Ctrl-C stops it cleanly; press it twice to stop at once'
  ].join('\n'))
}

function handleSignals (app: FastifyInstance, embedded: EmbeddedDatabase | undefined): void {
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) {
      app.log.warn(`${signal} again: exiting now; unacknowledged messages will be resent by devices`)
      process.exit(130)
    }
    stopping = true
    app.log.info(`${signal}: stopping (stop accepting, drain, flush, close)`)
    void (async () => {
      await app.close()
      await embedded?.stop()
      app.log.info('stopped')
      process.exit(0)
    })().catch((error: unknown) => {
      app.log.error({ err: error }, 'shutdown failed')
      process.exit(1)
    })
  }
  process.on('SIGINT', () => { stop('SIGINT') })
  process.on('SIGTERM', () => { stop('SIGTERM') })
  process.on('unhandledRejection', (reason) => { app.log.error({ err: reason }, 'unhandled promise rejection') })
}

await main()
