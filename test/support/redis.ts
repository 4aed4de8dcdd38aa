import { existsSync } from 'node:fs'
import { freePort, Subprocess, waitForPort } from './processes.js'

export const REDIS_SERVER = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((candidate) => existsSync(candidate))

/** Why the tests that need Redis cannot run here; CI installs it (.ci/run), so never in CI. */
export const redisMissing = REDIS_SERVER === undefined && process.env.CI !== 'true'
  ? 'redis-server is not installed (apt-get install -y redis-server)'
  : undefined

export interface TestRedis {
  url: string
  port: number
  process: Subprocess
  stop: () => Promise<void>
}

/** A Redis of its own on a free port, keeping nothing on disk: never the machine's 6379. */
export async function startRedis (port?: number): Promise<TestRedis> {
  if (REDIS_SERVER === undefined) throw new Error('redis-server is not installed (apt-get install -y redis-server)')
  const listen = port ?? await freePort()
  const child = Subprocess.start(REDIS_SERVER, ['--port', String(listen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {})
  await waitForPort(listen, child, 'redis-server')
  return {
    url: `redis://127.0.0.1:${listen}`,
    port: listen,
    process: child,
    stop: async () => {
      child.signal('SIGKILL')
      await child.exited
    }
  }
}
