import { existsSync } from 'node:fs'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { freePort, Subprocess, waitForPort } from './processes.js'

export const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto', '/usr/bin/mosquitto'].find((candidate) => existsSync(candidate))

/** Why the tests that need Mosquitto cannot run here; CI installs it (.ci/run), so never in CI. */
export const mosquittoMissing = MOSQUITTO === undefined && process.env.CI !== 'true'
  ? 'Mosquitto 2 is not installed (apt-get install -y mosquitto)'
  : undefined

export interface TestMosquitto {
  url: string
  port: number
  process: Subprocess
  stop: () => Promise<void>
}

/**
 * Mosquitto 2 of its own on a free port, anonymous, in memory. It keeps the messages it owes a
 * persistent session far past its default of 1,000, as a deployment for trackstream must (not
 * with 0, "no limit": Debian's 2.0.11 then drops a client whose publish its ACL denied).
 */
export async function startMosquitto ({ anonymous = true, extraConfig = '' } = {}): Promise<TestMosquitto> {
  if (MOSQUITTO === undefined) throw new Error('Mosquitto is not installed (apt-get install -y mosquitto)')
  const port = await freePort()
  const dir = await mkdtemp(path.join(os.tmpdir(), 'trackstream-mosquitto-'))
  const config = path.join(dir, 'mosquitto.conf')
  await writeFile(config, [
    `listener ${port} 127.0.0.1`,
    `allow_anonymous ${String(anonymous)}`,
    'persistence false',
    'max_queued_messages 1000000',
    'max_inflight_messages 0',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    extraConfig
  ].join('\n') + '\n')
  // started as root, Mosquitto reads its files again (on SIGHUP) as the mosquitto user
  await chmod(dir, 0o755)
  await chmod(config, 0o644)
  const child = Subprocess.start(MOSQUITTO, ['-c', config], {})
  await waitForPort(port, child, 'Mosquitto')
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    process: child,
    stop: async () => {
      child.signal('SIGTERM')
      await child.exited
      await rm(dir, { recursive: true, force: true })
    }
  }
}
