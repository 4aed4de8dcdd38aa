import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { UpstreamSubscriber, type UpstreamOptions } from '../../../gateway/upstream.js'
import { eventually } from '../../support/clients.js'
import { mosquittoMissing, startMosquitto, type TestMosquitto } from '../../support/mosquitto.js'

if (mosquittoMissing !== undefined) console.warn(`skipping the upstream subscriber tests: ${mosquittoMissing}`)

const quiet = { info: () => {}, warn: () => {} }

/** A message handed to the subscriber, with the commit it waits for in the test's hands. */
interface Pending { topic: string, payload: string, commit: () => void, fail: (error: Error) => void }

describe.skipIf(mosquittoMissing !== undefined)('the subscriber to an external broker', () => {
  let broker: TestMosquitto
  let publisher: MqttClient
  const subscribers: UpstreamSubscriber[] = []

  beforeAll(async () => {
    broker = await startMosquitto()
    publisher = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: 'publisher' })
  })
  afterAll(async () => {
    await publisher.endAsync()
    await broker.stop()
  })
  afterEach(async () => {
    for (const subscriber of subscribers.splice(0)) await subscriber.close(0)
  })

  const subscriber = async (clientId: string, topic: string, options: Partial<UpstreamOptions> = {}): Promise<{ subscriber: UpstreamSubscriber, pending: Pending[] }> => {
    const pending: Pending[] = []
    const created = new UpstreamSubscriber({
      url: broker.url,
      clientId,
      shareGroup: 'g',
      filters: [`${topic}/#`],
      protocolVersion: 5,
      sessionExpirySeconds: 300,
      receiveMaximum: 100,
      keepaliveSeconds: 5,
      reconnectMs: { min: 20, max: 100 },
      log: quiet,
      onMessage: async (topic, payload) => {
        await new Promise<void>((resolve, reject) => { pending.push({ topic, payload: payload.toString(), commit: resolve, fail: reject }) })
      },
      ...options
    })
    subscribers.push(created)
    created.start()
    await created.whenReady(5000)
    return { subscriber: created, pending }
  }

  const publishAll = async (topic: string, payloads: string[]): Promise<void> => {
    for (const payload of payloads) await publisher.publishAsync(`${topic}/x`, payload, { qos: 1 })
  }

  it('takes many messages at once without acknowledging any before its commit', async () => {
    const { subscriber: first, pending } = await subscriber('held', 't1')
    await publishAll('t1', ['a', 'b', 'c'])
    // all three are in hand together: the next one does not wait for the previous one's PUBACK
    await eventually(async () => { expect(pending.map((p) => p.payload)).toEqual(['a', 'b', 'c']) })
    // gone without committing: the broker owes the session all three
    await first.close(0)
    const again = await subscriber('held', 't1')
    await eventually(async () => { expect(again.pending.map((p) => p.payload)).toEqual(['a', 'b', 'c']) })
    for (const p of again.pending) p.commit()
    await eventually(async () => { expect(again.subscriber.counts.acknowledged).toBe(3) })
  })

  it('acknowledges in the order received: a later commit waits for an earlier one', async () => {
    const { subscriber: first, pending } = await subscriber('ordered', 't2')
    await publishAll('t2', ['1', '2', '3'])
    await eventually(async () => { expect(pending).toHaveLength(3) })
    pending[0]?.commit()
    pending[2]?.commit()
    await eventually(async () => { expect(first.counts.acknowledged).toBe(1) })
    await first.close(0)
    // 2 was never committed, and 3 (committed) could not be acknowledged before it
    const again = await subscriber('ordered', 't2')
    await eventually(async () => { expect(again.pending.map((p) => p.payload)).toEqual(['2', '3']) })
    for (const p of again.pending) p.commit()
  })

  it('reconnects when a commit fails, and the broker sends the message again', async () => {
    const { subscriber: only, pending } = await subscriber('failing', 't3')
    await publishAll('t3', ['x'])
    await eventually(async () => { expect(pending).toHaveLength(1) })
    pending[0]?.fail(new Error('database away'))
    await eventually(async () => { expect(pending).toHaveLength(2) })
    expect(pending[1]?.payload).toBe('x')
    pending[1]?.commit()
    await eventually(async () => { expect(only.counts.acknowledged).toBe(1) })
    expect(only.counts).toMatchObject({ failed: 1, connects: 2 })
  })

  it('shares one stream between the processors of a group, each message to one of them', async () => {
    const a = await subscriber('share-a', 't4')
    const b = await subscriber('share-b', 't4')
    const sent = Array.from({ length: 20 }, (_, i) => String(i))
    await publishAll('t4', sent)
    const all = (): string[] => [...a.pending, ...b.pending].map((p) => p.payload)
    await eventually(async () => { expect(all()).toHaveLength(20) })
    expect(all().sort((x, y) => Number(x) - Number(y))).toEqual(sent)
    expect(a.pending.length).toBeGreaterThan(0)
    expect(b.pending.length).toBeGreaterThan(0)
    for (const p of [...a.pending, ...b.pending]) p.commit()
  })

  it('says so when the broker refuses it, and keeps trying', async () => {
    const closed = await startMosquitto({ anonymous: false })
    const warnings: string[] = []
    const refused = new UpstreamSubscriber({
      url: closed.url.replace('mqtt://', 'mqtt://someone:wrong@'),
      clientId: 'refused',
      shareGroup: 'g',
      filters: ['t5/#'],
      protocolVersion: 5,
      sessionExpirySeconds: 300,
      receiveMaximum: 10,
      keepaliveSeconds: 5,
      reconnectMs: { min: 20, max: 50 },
      log: { info: () => {}, warn: (obj) => { warnings.push(String((obj as { reason?: string }).reason)) } },
      onMessage: async () => {}
    })
    subscribers.push(refused)
    refused.start()
    await eventually(async () => { expect(warnings.filter((w) => w.includes('refused the connection')).length).toBeGreaterThan(1) })
    expect(refused.ready).toBe(false)
    await refused.close(0)
    await closed.stop()
  })
})
