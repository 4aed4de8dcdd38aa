import { createWebSocketStream } from 'ws'
import fp from 'fastify-plugin'
import { Counter, Gauge } from 'prom-client'
import { Gateway } from '../../gateway/broker.js'
import { brokerCluster } from '../../gateway/cluster.js'
import { InflightBudget } from '../../gateway/flow-control.js'
import { RecurringProblem } from '../util/recurring-problem.js'

declare module 'fastify' {
  interface FastifyInstance {
    gateway: Gateway
    /** Device messages received and not yet answered, over MQTT and HTTP alike. */
    inflight: InflightBudget
  }
}

export interface BrokerPluginOptions {
  maxMessageBytes: number
  maxInflightPerDevice: number
  maxInflightTotal: number
  /** How long shutdown waits for held messages to commit before leaving them unacknowledged. */
  drainTimeoutMs?: number
  /** Cluster mode: the brokers of all instances share subscriptions, retained messages and sessions here. */
  redisUrl?: string
}

/**
 * The MQTT broker: on TCP (listened on by whoever starts the app) and over WebSocket at /mqtt.
 * On close: stop accepting, wait for held messages to commit so their PUBACKs go out, then
 * disconnect the devices.
 */
export default fp<BrokerPluginOptions>(async (app, { maxMessageBytes, maxInflightPerDevice, maxInflightTotal, drainTimeoutMs = 10_000, redisUrl }) => {
  const { engine, stats } = app
  const budget = new InflightBudget(maxInflightPerDevice, maxInflightTotal)
  app.decorate('inflight', budget)
  const held = new Gauge({
    name: 'trackstream_ingest_inflight',
    help: 'Device messages received and not yet answered: their acknowledgement waits for the commit',
    registers: [app.metrics],
    collect: () => { held.set(budget.inflight) }
  })
  const peak = new Gauge({
    name: 'trackstream_ingest_inflight_peak',
    help: 'The most device messages held unanswered at once since the last scrape',
    registers: [app.metrics],
    collect: () => { peak.set(budget.takePeak()) }
  })
  const problem = new RecurringProblem(app.log, 'the MQTT brokers\' shared Redis')
  const undelivered = new Counter({
    name: 'trackstream_mqtt_cluster_undelivered_total',
    help: 'MQTT publishes not passed to the subscribers on other instances because Redis was away; the messages themselves were stored',
    registers: [app.metrics]
  })
  const cluster = redisUrl === undefined
    ? undefined
    : brokerCluster(redisUrl, (error) => { problem.failed(error) }, (error) => {
      undelivered.inc()
      problem.failed(error)
    })
  const gateway = await Gateway.create({
    ...(cluster === undefined ? {} : { mq: cluster.mq, persistence: cluster.persistence }),
    budget,
    findDevice: (id) => engine.store.config.device(id),
    ingest: app.ingest,
    onRefused: (deviceId, reason, address) => {
      if (reason === 'unknown_device' && deviceId !== null) stats.unknownDevice(deviceId, address, app.now())
      else stats.rejected(deviceId, reason)
    },
    maxMessageBytes,
    log: app.log,
    now: app.now
  })
  app.decorate('gateway', gateway)

  app.get('/mqtt', {
    // devices log in inside MQTT, with their own id and secret
    config: { access: 'device' },
    websocket: true,
    schema: { hide: true }
  }, (socket, request) => {
    gateway.handle(createWebSocketStream(socket), request.raw)
  })

  app.addHook('preClose', async () => {
    gateway.stopAccepting()
    const drained = await Promise.race([
      app.commits.drain().then(async () => { await gateway.settled() }).then(() => true),
      new Promise<false>((resolve) => setTimeout(resolve, drainTimeoutMs, false).unref())
    ])
    if (!drained) {
      app.log.warn('shutting down with messages not yet committed: they stay unacknowledged and devices will resend them')
      app.commits.abandon()
      await gateway.settled()
    }
    await gateway.close()
    cluster?.close()
  })
}, { name: 'trackstream-broker', dependencies: ['trackstream-pipeline', 'trackstream-metrics', '@fastify/websocket'] })
