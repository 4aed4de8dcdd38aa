import { ConfigError } from './config.js'
import { EmbeddedPostgresError } from './db/embedded.js'
import { SchemaTooNewError } from './db/migrate.js'
import { RedisUnreachableError } from './plugins/redis.js'

/** A port setting, so an address-in-use error can name what to change. */
export class ListenError extends Error {
  constructor (readonly setting: string, readonly port: number, readonly host: string, cause: unknown) {
    super(`cannot listen on ${host}:${port}`, { cause })
  }
}

/**
 * The failures a new user meets first, as one line that says what to do. Anything else is a bug
 * and keeps its stack trace.
 */
export function explainStartupError (error: unknown, databaseUrl: string | undefined): string | undefined {
  if (error instanceof ConfigError) return error.message
  if (error instanceof EmbeddedPostgresError || error instanceof SchemaTooNewError || error instanceof RedisUnreachableError) return error.message
  if (error instanceof ListenError) {
    const code = (error.cause as { code?: string } | undefined)?.code
    if (code === 'EADDRINUSE') return `port ${error.port} is already in use on ${error.host}: stop what uses it, or set ${error.setting} to a free port`
    if (code === 'EACCES') return `no permission to listen on port ${error.port}: set ${error.setting} to a port above 1023`
    if (code === 'EADDRNOTAVAIL') return `${error.host} is not an address of this machine: fix HOST`
    return `cannot listen on ${error.host}:${error.port} (${error.setting}): ${(error.cause as Error).message}`
  }
  const code = (error as { code?: string }).code
  const file = (error as { path?: string }).path
  if ((code === 'ENOENT' || code === 'EACCES') && file !== undefined) return `cannot read ${file}: check TLS_CERT_FILE and TLS_KEY_FILE`
  const where = databaseUrl === undefined ? 'the database' : `the database at ${redact(databaseUrl)} (DATABASE_URL)`
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT' || code === 'EHOSTUNREACH') {
    return `cannot reach ${where}: ${(error as Error).message}`
  }
  if (code === '28P01' || code === '28000') return `${where} refused the login: ${(error as Error).message}`
  if (code === '3D000') return `${where} does not exist: create it, or point DATABASE_URL at one that does`
  if (code === '42501') return `${where} refused a statement for lack of privileges: ${(error as Error).message}`
  return undefined
}

function redact (url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    return parsed.toString()
  } catch {
    return 'DATABASE_URL'
  }
}
