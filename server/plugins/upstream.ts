import fp from 'fastify-plugin'
import { Counter } from 'prom-client'
import { decodeMessage } from '../../gateway/decode-message.js'
import { routeOf, senderOf } from '../../gateway/routing.js'
import { UpstreamSubscriber } from '../../gateway/upstream.js'
import type { UpstreamConfig } from '../config.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** External broker mode's subscription, or null when devices connect to the embedded broker. */
    upstream: UpstreamSubscriber | null
  }
}

/** A stream of messages from devices nobody registered must not read the devices table over and over. */
const REFRESH_AT_MOST_EVERY_MS = 500

export interface UpstreamPluginOptions {
  upstream: UpstreamConfig | undefined
  maxMessageBytes: number
}

/**
 * External broker mode: the broker checked the device's login and topic rights; here each message
 * gets the checks that need no connection (a registered, enabled device that may publish on that
 * topic, a message within MAX_MESSAGE_BYTES) and then the same decoding and pipeline as the
 * embedded broker's. A refused message is counted, with its reason, and acknowledged: sending it
 * again would not change the answer. A message is acknowledged to the broker only after its commit.
 */
export default fp<UpstreamPluginOptions>(async (app, { upstream, maxMessageBytes }) => {
  if (upstream === undefined) {
    app.decorate('upstream', null)
    return
  }
  const { engine, stats } = app
  const { config } = engine.store
  const received = new Counter({
    name: 'trackstream_upstream_messages_total',
    help: 'Messages taken from the external MQTT broker, by outcome (stored, refused, failed: not acknowledged, sent again)',
    labelNames: ['outcome'],
    registers: [app.metrics]
  })
  let lastRefresh = -Infinity
  const onMessage = async (topic: string, payload: Buffer): Promise<void> => {
    const route = routeOf(topic)
    if (route === null) {
      stats.rejected(null, 'topic_not_allowed')
      received.inc({ outcome: 'refused' })
      return
    }
    const directory = { device: (id: string) => config.device(id), networkServer: (format: 'ttn' | 'chirpstack', application: string) => config.networkServer(format, application) }
    let sender = senderOf(route, directory)
    if ('refused' in sender && sender.refused === 'unknown_device' && performance.now() - lastRefresh > REFRESH_AT_MOST_EVERY_MS) {
      // registered a moment ago through another instance, before its word of it arrived here?
      lastRefresh = performance.now()
      await app.configSync.refresh(['device'])
      sender = senderOf(route, directory)
    }
    if ('refused' in sender) {
      if (sender.refused === 'unknown_device') stats.unknownDevice(sender.deviceId, null, app.now())
      else stats.rejected(sender.deviceId, sender.refused)
      received.inc({ outcome: 'refused' })
      return
    }
    const { device } = sender
    if (device.disabled || payload.length > maxMessageBytes) {
      stats.rejected(device.id, device.disabled ? 'device_disabled' : 'message_too_large')
      received.inc({ outcome: 'refused' })
      return
    }
    try {
      await app.ingest(decodeMessage(device, route, topic, payload, app.now(), app.log))
      received.inc({ outcome: 'stored' })
    } catch (error) {
      received.inc({ outcome: 'failed' })
      throw error
    }
  }
  const subscriber = new UpstreamSubscriber({ ...upstream, onMessage, log: app.log })
  app.decorate('upstream', subscriber)
  app.addHook('onReady', async () => { subscriber.start() })
  // before the pipeline's own close: held messages commit and are acknowledged first
  app.addHook('preClose', async () => { await subscriber.close() })
}, { name: 'trackstream-upstream', dependencies: ['trackstream-pipeline', 'trackstream-metrics', 'trackstream-config-sync'] })
