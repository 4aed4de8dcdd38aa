import { execFileSync } from 'node:child_process'
import os from 'node:os'

export interface Machine {
  cpu: string
  cores: number
  memoryGiB: number
  kernel: string
  node: string
  postgres: string
  note: string
}

/** What the figures were measured on: they mean nothing without it. */
export function describeMachine (postgresVersion: string): Machine {
  const cpus = os.cpus()
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    postgres: postgresVersion,
    note: 'load generator, trackstream and PostgreSQL share these cores; all traffic on loopback'
  }
}

export function commandVersion (command: string, args: string[]): string | null {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return null
  }
}
