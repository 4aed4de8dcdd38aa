import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** Why a self-signed certificate cannot be made here, or undefined when it can. */
export function opensslUnavailable (): string | undefined {
  return existsSync('/usr/bin/openssl') || existsSync('/usr/local/bin/openssl') ? undefined : 'openssl is needed to make a test certificate'
}

export interface TestCertificate {
  certFile: string
  keyFile: string
  /** The certificate itself, for a client to trust. */
  ca: Buffer
}

/** A fresh self-signed certificate for localhost and 127.0.0.1, valid for two days. */
export async function makeTestCertificate (): Promise<TestCertificate> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'trackstream-tls-'))
  const certFile = path.join(dir, 'cert.pem')
  const keyFile = path.join(dir, 'key.pem')
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', keyFile, '-out', certFile])
  return { certFile, keyFile, ca: await readFile(certFile) }
}
