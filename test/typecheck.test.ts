import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'
import { ROOT } from './support/processes.js'

const run = promisify(execFile)

/** tsx runs TypeScript without checking it: the strict type check is a test like any other. */
it('type-checks the whole project in strict mode', async () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  const result = await run(process.execPath, [tsc, '--noEmit', '-p', ROOT], { cwd: ROOT }).catch((error: { stdout: string }) => error)
  expect(result.stdout).toBe('')
}, 120_000)
