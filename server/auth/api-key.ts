import { randomBytes } from 'node:crypto'
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { sameBytes } from './tokens.js'

export interface ApiKeySource {
  key: string
  /** Where the key came from, for the startup log. */
  origin: 'API_KEY' | string
}

/** API_KEY if set; otherwise a key generated on first start and kept in DATA_DIR/api-key. */
export async function resolveApiKey (configured: string | undefined, dataDir: string): Promise<ApiKeySource> {
  if (configured !== undefined) return { key: configured, origin: 'API_KEY' }
  const file = path.join(dataDir, 'api-key')
  try {
    const key = (await readFile(file, 'utf8')).trim()
    if (key.length >= 16) return { key, origin: file }
  } catch {}
  await mkdir(dataDir, { recursive: true })
  const key = randomBytes(24).toString('base64url')
  await writeFile(file, key + '\n', { mode: 0o600 })
  await chmod(file, 0o600)
  return { key, origin: file }
}

export function sameSecret (given: string, expected: string): boolean {
  return sameBytes(Buffer.from(given), Buffer.from(expected))
}
