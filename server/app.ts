import { readFile } from 'node:fs/promises'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import websocket from '@fastify/websocket'
import Fastify, { LogController, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Config } from './config.js'
import auditPlugin from './plugins/audit.js'
import authPlugin from './plugins/auth.js'
import brokerPlugin from './plugins/broker.js'
import configSyncPlugin from './plugins/config-sync.js'
import dbPlugin from './plugins/db.js'
import enginePlugin from './plugins/engine.js'
import deviceStatsPlugin from './plugins/device-stats.js'
import etaPlugin from './plugins/eta.js'
import exceptionsPlugin from './plugins/exceptions.js'
import latestPositionsPlugin from './plugins/latest-positions.js'
import livePlugin from './plugins/live.js'
import metricsPlugin from './plugins/metrics.js'
import pipelinePlugin from './plugins/pipeline.js'
import redisPlugin from './plugins/redis.js'
import remittancesPlugin from './plugins/remittances.js'
import routeAccessPlugin from './plugins/route-access.js'
import retentionPlugin from './plugins/retention.js'
import singletonPlugin from './plugins/singleton.js'
import stateSyncPlugin from './plugins/state-sync.js'
import requestGuardPlugin from './plugins/request-guard.js'
import rfidVisitsPlugin from './plugins/rfid-visits.js'
import securityHeadersPlugin, { DOCS_CSP } from './plugins/security-headers.js'
import upstreamPlugin from './plugins/upstream.js'
import webhooksPlugin from './plugins/webhooks.js'
import wsOriginPlugin from './plugins/ws-origin.js'
import accessRoutes from './routes/access.js'
import cashRoutes from './routes/cash.js'
import cashHandsRoutes from './routes/cash-hands.js'
import custodyRoutes from './routes/custody.js'
import dashboardRoutes, { DASHBOARD_DIST } from './routes/dashboard.js'
import financeRoutes from './routes/finance.js'
import geofenceRoutes from './routes/geofences.js'
import kpiRoutes from './routes/kpis.js'
import deviceRoutes from './routes/devices.js'
import exceptionRoutes from './routes/exceptions.js'
import healthRoutes from './routes/health.js'
import historyRoutes from './routes/history.js'
import ingestRoutes from './routes/ingest.js'
import liveRoutes from './routes/live.js'
import parcelRoutes from './routes/parcels.js'
import readerRoutes from './routes/readers.js'
import remittanceRoutes from './routes/remittances.js'
import searchRoutes from './routes/search.js'
import sessionRoutes from './routes/sessions.js'
import stationRoutes from './routes/stations.js'
import trackRoutes from './routes/track.js'
import trackingLinkRoutes from './routes/tracking-links.js'
import vehicleRoutes from './routes/vehicles.js'
import webhookRoutes from './routes/webhooks.js'

export interface AppOptions {
  config: Config
  databaseUrl: string
  apiKey: string
  logger: Logger
  /** For tests: the server's notion of now (receive times and validation). */
  clock?: () => number
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Now, in ms: receive times and validation read it, so a test can replay old captures. */
    now: () => number
  }
}

/**
 * Builds the whole server without listening, so tests can inject requests. The caller listens:
 * app.listen() for HTTP and app.gateway.listen() for MQTT over TCP.
 */
export async function buildApp ({ config, databaseUrl, apiKey, logger, clock = Date.now }: AppOptions): Promise<FastifyInstance> {
  // HTTP_TLS: HTTP_PORT speaks HTTPS (and WSS), with the certificate MQTT over TLS uses
  const https = config.httpTls === undefined ? null : { cert: await readFile(config.httpTls.certFile), key: await readFile(config.httpTls.keyFile) }
  const app = Fastify({
    https,
    // TRUST_PROXY: request.protocol (the session cookie's Secure, HSTS, the WebSocket Origin
    // check) and request.ip come from X-Forwarded-Proto/-For, but only as sent by these proxies
    trustProxy: config.trustProxy,
    loggerInstance: logger,
    bodyLimit: config.maxMessageBytes,
    forceCloseConnections: 'idle',
    // reading the parcels on their way at start takes seconds per hundred thousand: a stuck plugin
    // still fails, later, where Fastify's default (10 s) would fail a large installation's start
    pluginTimeout: 300_000,
    // one log line per HTTP request drowns what matters; errors are still logged
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } }
  }) as unknown as FastifyInstance
  app.decorate('now', clock)
  await app.register(routeAccessPlugin, { perKeyPerMinute: config.access.keyPerMinute })
  // first, so that every answer carries the headers, errors and 404s included
  await app.register(securityHeadersPlugin, {
    basemapStyleUrl: config.basemapStyleUrl,
    basemapTileUrl: config.basemapTileUrl,
    extraOrigins: config.cspExtraOrigins,
    pagesDir: DASHBOARD_DIST
  })

  await app.register(swagger, {
    openapi: {
      info: { title: 'trackstream', version: '1', description: 'Real-time parcel tracking: devices, places, parcels, milestones.' },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'the installation key (API_KEY, or DATA_DIR/api-key), or an API key (ts_<id>_<secret>, from POST /api/keys) with the scope the operation names' },
          session: { type: 'apiKey', in: 'cookie', name: 'ts_session', description: 'the ops dashboard\'s session (POST /api/session); changes must carry this server\'s Origin' },
          deviceBasic: { type: 'http', scheme: 'basic', description: 'a device: its id and secret' }
        }
      }
    }
  })
  // Swagger UI's inline styles get their own, looser policy, on its routes alone
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: DOCS_CSP })
  await app.register(requestGuardPlugin)
  await app.register(metricsPlugin)
  await app.register(dbPlugin, {
    databaseUrl,
    policy: { retentionDays: config.retentionDays, compressAfterDays: config.compressAfterDays },
    connectTimeoutMs: config.dbConnectTimeoutMs,
    queryTimeoutMs: config.dbQueryTimeoutMs
  })
  await app.register(enginePlugin, {
    geofence: config.geofence,
    rfidWindowMs: config.rfidWindowMs,
    exceptions: config.exceptions,
    eta: config.eta
  })
  await app.register(singletonPlugin)
  await app.register(retentionPlugin)
  await app.register(redisPlugin, { url: config.redisUrl })
  await app.register(pipelinePlugin, { retentionDays: config.retentionDays })
  await app.register(stateSyncPlugin)
  await app.register(deviceStatsPlugin)
  await app.register(latestPositionsPlugin)
  await app.register(rfidVisitsPlugin)
  await app.register(exceptionsPlugin, config.exceptions)
  await app.register(etaPlugin, config.eta)
  await app.register(livePlugin, { tickMs: config.liveTickMs })
  await app.register(webhooksPlugin, {
    pollMs: config.webhookPollMs,
    timeoutMs: config.webhookTimeoutMs,
    retryBaseMs: config.webhookRetryBaseMs,
    concurrency: config.webhookConcurrency,
    allowPrivate: config.webhookAllowPrivate
  })
  await app.register(websocket, {
    options: {
      maxPayload: config.maxMessageBytes,
      // MQTT over WebSocket must echo the subprotocol, or browsers drop the connection
      handleProtocols: (protocols) => ['mqtt', 'mqttv3.1'].find((p) => protocols.has(p)) ?? false
    },
    // viewers close here; MQTT sockets stay open until the broker has drained (plugins/broker.ts)
    preClose: async function (this: FastifyInstance) {
      for (const client of this.websocketServer.clients) {
        if (!client.protocol.startsWith('mqtt')) client.close(1001, 'server shutting down')
      }
    }
  })
  await app.register(auditPlugin)
  await app.register(authPlugin, { apiKey, access: config.access })
  await app.register(brokerPlugin, {
    maxMessageBytes: config.maxMessageBytes,
    maxInflightPerDevice: config.maxInflightPerDevice,
    maxInflightTotal: config.maxInflightTotal,
    // behind an external broker, the embedded one serves only MQTT over WebSocket, and alone
    ...(config.redisUrl === undefined || config.upstream !== undefined ? {} : { redisUrl: config.redisUrl })
  })
  await app.register(configSyncPlugin, { disconnect: (deviceId) => { app.gateway.disconnect(deviceId) } })
  await app.register(upstreamPlugin, { upstream: config.upstream, maxMessageBytes: config.maxMessageBytes })
  await app.register(wsOriginPlugin, { allowedOrigins: config.allowedOrigins })
  await app.register(healthRoutes)
  await app.register(sessionRoutes(config.access, apiKey))
  await app.register(accessRoutes)
  await app.register(deviceRoutes)
  await app.register(stationRoutes)
  await app.register(readerRoutes)
  await app.register(vehicleRoutes)
  await app.register(historyRoutes)
  await app.register(parcelRoutes)
  await app.register(webhookRoutes)
  await app.register(custodyRoutes)
  await app.register(geofenceRoutes)
  await app.register(exceptionRoutes)
  await app.register(searchRoutes)
  await app.register(financeRoutes)
  await app.register(cashRoutes)
  await app.register(cashHandsRoutes)
  await app.register(remittanceRoutes)
  await app.register(remittancesPlugin, { sweepMs: config.remittanceSweepMs })
  await app.register(kpiRoutes, { refreshMs: config.kpiRefreshMs })
  await app.register(trackingLinkRoutes, config.access)
  await app.register(trackRoutes, config.access)
  await app.register(ingestRoutes)
  await app.register(liveRoutes)
  await app.register(dashboardRoutes, { basemap: { styleUrl: config.basemapStyleUrl, tileUrl: config.basemapTileUrl, attribution: config.basemapAttribution } })
  return app
}
