import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { freePort, ROOT, Subprocess, waitForPort } from './processes.js'

export const HAPROXY = ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy'].find((candidate) => existsSync(candidate))

/** Why the tests that need HAProxy cannot run here; CI installs it (.ci/run), so never in CI. */
export const haproxyMissing = HAPROXY === undefined && process.env.CI !== 'true'
  ? 'HAProxy is not installed (apt-get install -y haproxy)'
  : undefined

export interface Backend { name: 'trackstream-a' | 'trackstream-b', httpPort: number, mqttPort: number }

/**
 * HAProxy with the configuration docker-compose.cluster.yml ships (deploy/haproxy.cfg), its
 * listeners and servers pointed at free ports on this machine instead of the compose network.
 */
export async function startHaproxy (backends: Backend[]): Promise<{ httpUrl: string, wsUrl: string, mqttUrl: string, stop: () => Promise<void> }> {
  if (HAPROXY === undefined) throw new Error('HAProxy is not installed (apt-get install -y haproxy)')
  const [httpPort, mqttPort] = [await freePort(), await freePort()]
  let config = (await readFile(path.join(ROOT, 'deploy/haproxy.cfg'), 'utf8'))
    .replace('bind :8080', `bind 127.0.0.1:${httpPort}`)
    .replace('bind :1883', `bind 127.0.0.1:${mqttPort}`)
    // a test process may open some 20,000 files, not the 200,000 the fleet-sized maxconn asks for
    .replaceAll('maxconn 100000', 'maxconn 2000')
  for (const { name, httpPort: http, mqttPort: mqtt } of backends) {
    config = config
      .replace(`${name}:1883 check port 8080`, `127.0.0.1:${mqtt} check port ${http}`)
      .replace(`${name}:8080 check`, `127.0.0.1:${http} check`)
  }
  if (/trackstream-[ab]:\d/.test(config)) throw new Error('deploy/haproxy.cfg names a server this harness does not know')
  const dir = await mkdtemp(path.join(os.tmpdir(), 'trackstream-haproxy-'))
  const file = path.join(dir, 'haproxy.cfg')
  await writeFile(file, config)
  const child = Subprocess.start(HAPROXY, ['-db', '-f', file], {})
  await waitForPort(httpPort, child, 'HAProxy')
  await waitForPort(mqttPort, child, 'HAProxy')
  return {
    httpUrl: `http://127.0.0.1:${httpPort}`,
    wsUrl: `ws://127.0.0.1:${httpPort}`,
    mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    stop: async () => {
      child.signal('SIGTERM')
      await child.exited
      await rm(dir, { recursive: true, force: true })
    }
  }
}
