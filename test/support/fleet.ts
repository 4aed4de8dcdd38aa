import mqtt, { type MqttClient } from 'mqtt'
import type pg from 'pg'
import { deviceTopic } from '../../proto/topics.js'

export interface FleetDevice {
  id: string
  secret: string
}

/**
 * Real trackers for outage tests: mqtt.js clients with persistent sessions that reconnect by
 * themselves and resend what was never acknowledged, each publishing QoS 1 fixes numbered by seq.
 * What the broker acknowledged is recorded per device, so a test can check that every
 * acknowledged fix is in the database.
 */
export class Fleet {
  readonly acked = new Map<string, Set<number>>()
  private readonly clients: MqttClient[] = []
  private readonly pending = new Set<Promise<void>>()
  private timer: NodeJS.Timeout | undefined
  private nextSeq = 1
  sent = 0
  /** Publishes that failed outright (not merely waited): should stay 0. */
  failed = 0
  /** Why each failed. */
  readonly failures: string[] = []

  private constructor (private readonly devices: FleetDevice[]) {
    for (const device of devices) this.acked.set(device.id, new Set())
  }

  static async connect (url: string, devices: FleetDevice[]): Promise<Fleet> {
    const fleet = new Fleet(devices)
    for (const device of devices) {
      fleet.clients.push(await mqtt.connectAsync(url, {
        username: device.id,
        password: device.secret,
        clientId: device.id,
        clean: false,
        reconnectPeriod: 250,
        connectTimeout: 3000,
        keepalive: 30,
        resubscribe: false
      }))
    }
    return fleet
  }

  /** Publishes `perSecond` fixes a second in all, spread over the devices, until stopped. */
  start (perSecond: number): void {
    const tickMs = 20
    const perTick = Math.max(1, Math.round(perSecond * tickMs / 1000))
    let turn = 0
    this.timer = setInterval(() => {
      for (let i = 0; i < perTick; i++) {
        const index = turn++ % this.devices.length
        this.publish(this.devices[index] as FleetDevice, this.clients[index] as MqttClient)
      }
    }, tickMs)
  }

  private publish (device: FleetDevice, client: MqttClient): void {
    const seq = this.nextSeq++
    const payload = JSON.stringify({ time: Date.now() - 1000, lat: 13.7 + (seq % 1000) / 10_000, lon: 100.5, seq })
    this.sent++
    const done = client.publishAsync(deviceTopic(device.id, 'fix'), payload, { qos: 1 })
      .then(() => { this.acked.get(device.id)?.add(seq) }, (error: Error) => {
        this.failed++
        this.failures.push(`${device.id}:${seq}: ${error.message}`)
      })
      .finally(() => { this.pending.delete(done) })
    this.pending.add(done)
  }

  stopPublishing (): void {
    clearInterval(this.timer)
  }

  get ackedCount (): number {
    let n = 0
    for (const seqs of this.acked.values()) n += seqs.size
    return n
  }

  /** Waits until every publish so far is acknowledged (mqtt.js resends across reconnects). */
  async settle (timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (this.pending.size > 0) {
      if (Date.now() > deadline) throw new Error(`${this.pending.size} of ${this.sent} publishes still unacknowledged after ${timeoutMs} ms`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  /** Acknowledged fixes that are not in the database: must be none. */
  async missing (pool: pg.Pool): Promise<string[]> {
    const { rows } = await pool.query<{ device_id: string, seq: string }>('SELECT device_id, seq::text FROM positions')
    const stored = new Set(rows.map((row) => `${row.device_id}:${row.seq}`))
    const lost: string[] = []
    for (const [id, seqs] of this.acked) for (const seq of seqs) if (!stored.has(`${id}:${seq}`)) lost.push(`${id}:${seq}`)
    return lost
  }

  async close (): Promise<void> {
    this.stopPublishing()
    await Promise.all(this.clients.map(async (client) => { await client.endAsync(true) }))
  }
}

/** Rows stored more than once under the positions unique key (device, time, seq): must be none. */
export async function duplicatePositions (pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM (SELECT 1 FROM positions GROUP BY device_id, time, seq HAVING count(*) > 1) d')
  return rows[0]?.n ?? -1
}
