import { mkdtemp, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../server/app.js'
import { loadConfig } from '../../server/config.js'
import { createLogger } from '../../server/logger.js'
import { createTestDatabase, type TestDatabase } from './database.js'

export const TEST_API_KEY = 'test-api-key-0123456789'

export interface TestServer {
  app: FastifyInstance
  db: TestDatabase
  httpUrl: string
  wsUrl: string
  mqttUrl: string
  /** Set when the server was started with TLS_CERT_FILE and TLS_KEY_FILE. */
  mqttsUrl: string | undefined
  api: <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => Promise<{ status: number, body: T }>
  registerDevice: (id: string, kind?: 'tracker' | 'reader' | 'network_server', extra?: Record<string, string>) => Promise<{ id: string, secret: string }>
  close: () => Promise<void>
}

export interface TestServerOptions {
  env?: Record<string, string>
  clock?: () => number
  /** Reuse a database, e.g. to restart a server on the same data. */
  db?: TestDatabase
}

/** The real server on free ports, against a fresh database. */
export async function startTestServer (options: TestServerOptions = {}): Promise<TestServer> {
  const db = options.db ?? await createTestDatabase()
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'trackstream-test-'))
  const config = loadConfig({
    HOST: '127.0.0.1',
    HTTP_PORT: '0',
    MQTT_PORT: '0',
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    API_KEY: TEST_API_KEY,
    LOG_LEVEL: process.env.TRACKSTREAM_TEST_LOG ?? 'silent',
    LOG_FORMAT: 'json',
    LIVE_TICK_MS: '20',
    WEBHOOK_ALLOW_PRIVATE: 'true',
    ...options.env
  })
  const app = await buildApp({ config, databaseUrl: config.databaseUrl ?? db.url, apiKey: TEST_API_KEY, logger: createLogger(config), clock: options.clock })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const mqtt = await app.gateway.listen(0, '127.0.0.1')
  const tls = config.mqttTls === undefined
    ? undefined
    : await app.gateway.listenTls(0, '127.0.0.1', { cert: await readFile(config.mqttTls.certFile), key: await readFile(config.mqttTls.keyFile) })
  const { port } = app.server.address() as { port: number }
  // HTTP_TLS=true: https and wss (api() is fetch, which does not trust a self-signed certificate)
  const secure = config.httpTls !== undefined
  const httpUrl = `${secure ? 'https' : 'http'}://127.0.0.1:${port}`

  const api: TestServer['api'] = async (method, route, body) => {
    const response = await fetch(`${httpUrl}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${TEST_API_KEY}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' })
      },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    const text = await response.text()
    return { status: response.status, body: (text === '' ? {} : JSON.parse(text)) as never }
  }

  return {
    app,
    db,
    httpUrl,
    wsUrl: `${secure ? 'wss' : 'ws'}://127.0.0.1:${port}`,
    mqttUrl: `mqtt://127.0.0.1:${mqtt.port}`,
    mqttsUrl: tls === undefined ? undefined : `mqtts://localhost:${tls.port}`,
    api,
    registerDevice: async (id, kind = 'tracker', extra = {}) => {
      const { status, body } = await api<{ id: string, secret: string }>('POST', '/api/devices', { id, kind, ...extra })
      if (status !== 201) throw new Error(`could not register ${id}: ${status} ${JSON.stringify(body)}`)
      return body
    },
    close: async () => {
      await app.close()
      await rm(dataDir, { recursive: true, force: true })
      if (options.db === undefined) await db.drop()
    }
  }
}
