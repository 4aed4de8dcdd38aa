import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** A bench helper process (fleet, viewers) running a TypeScript module through tsx. */
export function startWorker (module: string): ChildProcess {
  return fork(fileURLToPath(new URL(module, import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
}

export async function nextMessage<T extends { type: string }> (child: ChildProcess, type: T['type'], timeoutMs = 600_000): Promise<T> {
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { cleanup(); reject(new Error(`no ${type} from worker ${child.pid} in ${timeoutMs} ms`)) }, timeoutMs)
    const onMessage = (message: T): void => {
      if (message.type !== type) return
      cleanup()
      resolve(message)
    }
    const onExit = (code: number | null): void => { cleanup(); reject(new Error(`worker ${child.pid} exited (${code}) before ${type}`)) }
    const cleanup = (): void => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    child.on('message', onMessage)
    child.on('exit', onExit)
  })
}
