import { spawn, type ChildProcess } from 'node:child_process'
import net from 'node:net'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

export { freePort } from '../../server/free-port.js'

/** A process of ours, with its output kept for assertions and for the failure message. */
export class Subprocess {
  output = ''
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>

  constructor (readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => { this.output += chunk.toString() })
    child.stderr?.on('data', (chunk: Buffer) => { this.output += chunk.toString() })
    this.exited = new Promise((resolve) => { child.once('exit', (code, signal) => { resolve({ code, signal }) }) })
  }

  static start (command: string, args: string[], env: Record<string, string>): Subprocess {
    // its own process group, so a test can signal npm and everything under it at once
    return new Subprocess(spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] }))
  }

  async waitForOutput (pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const match = pattern.exec(this.output)
      if (match !== null) return match
      if (this.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`${pattern} did not appear (exit ${this.child.exitCode}); output:\n${this.output.slice(-4000)}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  /** Signals the whole process group. */
  signal (signal: NodeJS.Signals): void {
    if (this.child.pid !== undefined && this.child.exitCode === null) {
      try {
        process.kill(-this.child.pid, signal)
      } catch {}
    }
  }
}

/** SIGKILLs each and waits for all to exit: a test's afterEach, whatever state it left them in. */
export async function killAll (processes: readonly Subprocess[]): Promise<void> {
  for (const p of processes) p.signal('SIGKILL')
  await Promise.all(processes.map(async (p) => await p.exited))
}

/** trackstream itself, as `npm start` runs it but without the dashboard build step. */
export function startServerProcess (env: Record<string, string>): Subprocess {
  return Subprocess.start(process.execPath, ['--import', 'tsx', 'server/main.ts'], { LOG_FORMAT: 'json', ...env })
}

/** Until something listens on the port; fails with the process's output if it exits first. */
export async function waitForPort (port: number, child: Subprocess, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true) })
      socket.on('error', () => { resolve(false) })
    })
    if (open) return
    if (child.child.exitCode !== null || Date.now() > deadline) throw new Error(`${what} did not listen on ${port}:\n${child.output}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
