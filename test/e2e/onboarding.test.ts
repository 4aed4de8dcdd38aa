import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeScanBatch } from '../../proto/codec.js'
import { deviceTopic } from '../../proto/topics.js'
import { connectDevice, eventually, publish } from '../support/clients.js'
import { ROOT } from '../support/processes.js'
import { startTestServer, TEST_API_KEY, type TestServer } from '../support/server.js'

const run = promisify(execFile)

interface DeviceView {
  format: string
  owner: string
  connect: { mqttTopics: string[], httpPath: string | null }
  status: { messages: number, fixes: number, lastSeenAt: string | null, rejects: Record<string, number> }
}

async function closed (client: MqttClient): Promise<void> {
  if (client.disconnected) return
  await new Promise<void>((resolve) => { client.once('close', () => { resolve() }) })
}

describe('device onboarding and operations', () => {
  let server: TestServer
  const devices: MqttClient[] = []

  beforeAll(async () => { server = await startTestServer() })
  afterAll(async () => {
    await Promise.all(devices.map(async (d) => { await d.endAsync(true) }))
    await server?.close()
  })

  const connect = async (id: string, secret: string): Promise<MqttClient> => {
    const client = await connectDevice(server.mqttUrl, id, secret)
    devices.push(client)
    return client
  }
  const view = async (id: string): Promise<DeviceView> => (await server.api<DeviceView>('GET', `/api/devices/${id}`)).body

  it('registers each kind with a format that suits it, and says where the device should publish', async () => {
    const phone = await server.api<DeviceView>('POST', '/api/devices', { id: 'jane', kind: 'tracker', format: 'owntracks', owner: 'acme' })
    expect(phone.status).toBe(201)
    expect(phone.body).toMatchObject({ format: 'owntracks', owner: 'acme', connect: { mqttTopics: ['owntracks/jane/<any device name>'], httpPath: '/owntracks' } })
    const tts = await server.api<DeviceView>('POST', '/api/devices', { id: 'tts-acme', kind: 'network_server', format: 'ttn', owner: 'acme', scope: 'app1@tenant1' })
    expect(tts.body.connect.mqttTopics).toEqual(['v3/app1@tenant1/devices/<device id>/up'])
    const refused = [
      { id: 'x1', kind: 'reader', format: 'owntracks' },
      { id: 'x2', kind: 'tracker', format: 'impinj' },
      { id: 'x3', kind: 'network_server', format: 'chirpstack' },
      { id: 'x4', kind: 'tracker', scope: 'app9' }
    ]
    for (const body of refused) {
      const answer = await server.api<{ code: string }>('POST', '/api/devices', body)
      expect([body.id, answer.status, answer.body.code]).toEqual([body.id, 422, 'TS_BAD_SHAPE'])
    }
    const sameScope = await server.api<{ code: string }>('POST', '/api/devices', { id: 'tts-other', kind: 'network_server', format: 'ttn', owner: 'other', scope: 'app1@tenant1' })
    expect([sameScope.status, sameScope.body.code]).toEqual([409, 'TS_ALREADY_EXISTS'])
  })

  it('keeps tenants apart: a device reaches its own topics only', async () => {
    const a = await server.registerDevice('acme-van', 'tracker', { owner: 'acme' })
    await server.registerDevice('globex-van', 'tracker', { owner: 'globex' })
    const client = await connect('acme-van', a.secret)
    const refused = await client.subscribeAsync('ts/v1/globex-van/#').then(() => undefined, (error: { packet?: { granted: number[] } }) => error)
    expect(refused?.packet?.granted).toEqual([128])
    const refusedOwnTracks = await client.subscribeAsync('owntracks/+/+').then(() => undefined, (error: { packet?: { granted: number[] } }) => error)
    expect(refusedOwnTracks?.packet?.granted).toEqual([128])
    const gone = closed(client)
    client.publish(deviceTopic('globex-van', 'fix'), JSON.stringify({ time: Date.now() - 1000, lat: 1, lon: 1 }), { qos: 1 })
    await gone
    expect((await view('acme-van')).status.rejects).toMatchObject({ subscribe_not_allowed: 2, topic_not_allowed: 1 })
    const { rows } = await server.db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM positions WHERE device_id = 'globex-van'")
    expect(rows[0]?.n).toBe(0)
  })

  it('says a payload is in the wrong format, and which format it looks like', async () => {
    const { secret } = await server.registerDevice('plain-van')
    const client = await connect('plain-van', secret)
    await publish(client, deviceTopic('plain-van', 'fix'), JSON.stringify({ _type: 'location', lat: 13.7, lon: 100.5, tst: Math.floor(Date.now() / 1000) }))
    await publish(client, deviceTopic('plain-van', 'fix'), '$GPRMC,081836,A,3751.65,S,14507.36,E,000.0,360.0,130998,011.3,E*62')
    expect((await view('plain-van')).status.rejects).toEqual({ wrong_format: 2 })
    const stored = await server.api<{ items: Array<{ detail: string }> }>('GET', '/api/rejects?deviceId=plain-van')
    expect(stored.body.items.map((r) => r.detail)).toEqual([
      'wrong_format: this looks like nmea, but the device is registered as trackstream: change the device\'s format or its settings',
      'wrong_format: this looks like owntracks, but the device is registered as trackstream: change the device\'s format or its settings'
    ])
    // fixing the registration is enough: the next message is read
    expect((await server.api('PATCH', '/api/devices/plain-van', { format: 'nmea' })).status).toBe(200)
    const now = new Date(Date.now() - 60_000)
    await publish(client, deviceTopic('plain-van', 'fix'), rmc(now))
    expect((await view('plain-van')).status.fixes).toBe(1)
  })

  it('gives each antenna of a dock door its own meaning', async () => {
    await server.api('POST', '/api/stations', { id: 'DOCK-1', name: 'Dock 1', kind: 'depot', lat: 13.7, lon: 100.6, city: 'Bangkok', country: 'TH' })
    const { secret } = await server.registerDevice('door-1', 'reader')
    const placed = await server.api('PUT', '/api/readers/door-1', {
      stationId: 'DOCK-1', milestone: 'arrived_at_facility', antennas: [{ port: 1, milestone: 'loaded' }, { port: 2, milestone: 'unloaded' }]
    })
    expect(placed.status).toBe(200)
    const duplicatePort = await server.api('PUT', '/api/readers/door-1', { stationId: 'DOCK-1', milestone: 'sorted', antennas: [{ port: 1, milestone: 'loaded' }, { port: 1, milestone: 'unloaded' }] })
    expect(duplicatePort.status).toBe(422)
    const epc = 'E28011700000020F12345678'
    const parcel = await server.api<{ id: string }>('POST', '/api/parcels', { trackingNumber: 'DOOR-1', epc, destination: { city: 'Bangkok', country: 'TH' } })
    const reader = await connect('door-1', secret)
    const t = Date.now()
    await publish(reader, deviceTopic('door-1', 'scan'), encodeScanBatch([{ antenna: 2, epc, time: t }, { antenna: 1, epc, time: t + 1000 }, { antenna: 3, epc, time: t + 2000 }]))
    const timeline = await server.api<{ items: Array<{ code: string }> }>('GET', `/api/parcels/${parcel.body.id}/timeline`)
    expect(timeline.body.items.map((m) => m.code)).toEqual(['info_received', 'unloaded', 'loaded', 'arrived_at_facility'])
  })

  it('keeps device counters across a restart', async () => {
    const { secret } = await server.registerDevice('counted-van')
    const client = await connect('counted-van', secret)
    await publish(client, deviceTopic('counted-van', 'fix'), JSON.stringify({ time: Date.now() - 1000, lat: 13.7, lon: 100.5 }))
    await publish(client, deviceTopic('counted-van', 'fix'), '{"lat":')
    const before = (await view('counted-van')).status
    expect(before).toMatchObject({ messages: 2, fixes: 1, rejects: { malformed_json: 1 } })
    await client.endAsync()
    await server.app.close()
    const again = await startTestServer({ db: server.db })
    try {
      const after = (await again.api<DeviceView>('GET', '/api/devices/counted-van')).body.status
      expect(after).toEqual({ ...before, connected: false })
    } finally {
      await again.close()
    }
    server = await startTestServer({ db: server.db })
  })
})

describe('MQTT over TLS', () => {
  const opensslMissing = !existsSync('/usr/bin/openssl') && !existsSync('/usr/local/bin/openssl')
  if (opensslMissing) console.warn('TLS test skipped: openssl is needed to make a test certificate')
  let server: TestServer
  let ca: Buffer

  beforeAll(async () => {
    if (opensslMissing) return
    const dir = await mkdtemp(path.join(os.tmpdir(), 'trackstream-tls-'))
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')])
    ca = await readFile(path.join(dir, 'cert.pem'))
    server = await startTestServer({ env: { TLS_CERT_FILE: path.join(dir, 'cert.pem'), TLS_KEY_FILE: path.join(dir, 'key.pem') } })
  })
  afterAll(async () => { await server?.close() })

  it.skipIf(opensslMissing)('accepts devices over TLS with the configured certificate, through the same rules', async () => {
    const { secret } = await server.registerDevice('tls-van')
    const client = await connectDevice(server.mqttsUrl ?? '', 'tls-van', secret, { ca, rejectUnauthorized: true })
    await publish(client, deviceTopic('tls-van', 'fix'), JSON.stringify({ time: Date.now() - 1000, lat: 13.7, lon: 100.5 }))
    await client.endAsync()
    const { rows } = await server.db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM positions WHERE device_id = 'tls-van'")
    expect(rows[0]?.n).toBe(1)
    // a client that does not trust the certificate does not get in
    await expect(connectDevice(server.mqttsUrl ?? '', 'tls-van', secret, { rejectUnauthorized: true })).rejects.toThrow(/self.signed|certificate/i)
  })
})

describe('the trackstream CLI', () => {
  let server: TestServer
  beforeAll(async () => { server = await startTestServer() })
  afterAll(async () => { await server?.close() })

  const cli = async (...args: string[]): Promise<{ code: number, out: string }> => {
    try {
      const { stdout } = await run(process.execPath, ['server/cli/trackstream.mjs', ...args, '--url', server.httpUrl], {
        cwd: ROOT, env: { ...process.env, API_KEY: TEST_API_KEY }
      })
      return { code: 0, out: stdout }
    } catch (error) {
      const failed = error as { code: number, stdout: string, stderr: string }
      return { code: failed.code, out: failed.stdout + failed.stderr }
    }
  }

  it('adds merchants, creates and revokes keys, and manages users', async () => {
    expect(await cli('merchants', 'add', 'acme', '--name', 'Acme Ltd')).toEqual({ code: 0, out: 'merchant acme (Acme Ltd) added\n' })
    expect((await cli('merchants', 'list')).out).toBe('acme\tAcme Ltd\n')
    const created = await cli('keys', 'create', '--name', 'acme erp', '--merchant', 'acme', '--scope', 'parcels:read', '--scope', 'webhooks')
    expect(created.code).toBe(0)
    const key = /key: (ts_\S+)/.exec(created.out)?.[1] ?? ''
    const keyId = key.split('_')[1] ?? ''
    expect((await fetch(`${server.httpUrl}/api/parcels`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200)
    expect((await cli('keys', 'list', '--merchant', 'acme')).out).toMatch(new RegExp(`${keyId}\\s+acme erp\\s+acme\\s+parcels:read,webhooks\\s+never\\s+\\S+`))
    expect((await cli('keys', 'revoke', keyId)).out).toMatch(new RegExp(`^key ${keyId} revoked at `))
    expect((await fetch(`${server.httpUrl}/api/parcels`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(401)
    expect((await cli('keys', 'create', '--name', 'bad', '--merchant', 'acme', '--scope', 'fleet:write')).code).toBe(2)

    const added = await cli('users', 'add', 'desk@ops.example', '--role', 'dispatcher')
    expect(added.out).toMatch(/^user desk@ops\.example added as dispatcher\npassword: \S{20}/)
    const password = /password: (\S+)/.exec(added.out)?.[1] ?? ''
    const login = async (): Promise<number> => (await fetch(`${server.httpUrl}/api/session`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'desk@ops.example', password })
    })).status
    expect(await login()).toBe(200)
    expect((await cli('users', 'set-role', 'desk@ops.example', 'finance')).out).toBe('desk@ops.example is now finance; 1 sessions ended\n')
    expect((await cli('users', 'disable', 'desk@ops.example')).code).toBe(0)
    expect(await login()).toBe(401)
    expect((await cli('users', 'list')).out).toMatch(/desk@ops\.example\s+finance\s+-\s+disabled/)
  })

  it('registers, lists, rotates, disables and places devices', async () => {
    const added = await cli('devices', 'add', 'cli-reader', '--kind', 'reader', '--format', 'impinj', '--owner', 'acme')
    expect(added.code).toBe(0)
    expect(added.out).toMatch(/^cli-reader: reader, impinj, owner acme\nsecret: \S{32}/)
    expect(added.out).toContain('MQTT topic: ts/v1/cli-reader/scan')
    const secret = /secret: (\S+)/.exec(added.out)?.[1] ?? ''
    const rotated = await cli('devices', 'rotate-secret', 'cli-reader')
    expect(/secret: (\S+)/.exec(rotated.out)?.[1]).not.toBe(secret)
    expect((await cli('devices', 'disable', 'cli-reader')).out).toContain('DISABLED')
    const list = await cli('devices', 'list')
    expect(list.out.split('\n')[0]).toMatch(/^ID\s+KIND\s+FORMAT\s+OWNER\s+STATE\s+LAST SEEN\s+MESSAGES\s+REJECTS$/)
    expect(list.out).toMatch(/cli-reader\s+reader\s+impinj\s+acme\s+disabled\s+never\s+0\s+none/)
    await server.api('POST', '/api/stations', { id: 'HUB-9', name: 'Hub 9', kind: 'hub', lat: 1.3, lon: 103.8 })
    const placed = await cli('readers', 'place', 'cli-reader', '--station', 'HUB-9', '--milestone', 'sorted', '--antenna', '2=departed_facility')
    expect(placed).toEqual({ code: 0, out: 'cli-reader placed at HUB-9: its scans mean sorted\n' })
    const reader = await server.api<{ items: Array<{ antennas: unknown[] }> }>('GET', '/api/readers')
    expect(reader.body.items[0]?.antennas).toEqual([{ port: 2, milestone: 'departed_facility', stationId: null }])
  })

  it('explains a mistake in one line with exit code 2', async () => {
    expect(await cli('devices', 'add', 'bad/id', '--kind', 'tracker')).toEqual({ code: 2, out: 'trackstream: POST /api/devices: 400 body/id must match pattern "^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"\n' })
    const unreachable = await run(process.execPath, ['server/cli/trackstream.mjs', 'devices', 'list', '--url', 'http://127.0.0.1:1'], { cwd: ROOT, env: { ...process.env, API_KEY: TEST_API_KEY } })
      .then(() => 'ok', (error: { code: number, stderr: string }) => `${error.code} ${error.stderr}`)
    expect(unreachable).toMatch(/^2 trackstream: cannot reach trackstream at http:\/\/127\.0\.0\.1:1/)
  })
})

/** A valid RMC sentence for a time, with its checksum. */
function rmc (time: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0')
  const hhmmss = `${pad(time.getUTCHours())}${pad(time.getUTCMinutes())}${pad(time.getUTCSeconds())}`
  const ddmmyy = `${pad(time.getUTCDate())}${pad(time.getUTCMonth() + 1)}${pad(time.getUTCFullYear() % 100)}`
  const body = `GPRMC,${hhmmss},A,1345.3800,N,10030.1080,E,010.0,090.0,${ddmmyy},,,A`
  let sum = 0
  for (const char of body) sum ^= char.charCodeAt(0)
  return `$${body}*${sum.toString(16).toUpperCase().padStart(2, '0')}`
}
