import type { Reporter, TestModule } from 'vitest/node'

/** Ends every run with one machine-readable line: "N passed, N failed" (CI reads it). */
export default class SummaryReporter implements Reporter {
  onTestRunEnd (testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0
    let failed = 0
    let skipped = 0
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state
        if (state === 'passed') passed++
        else if (state === 'failed') failed++
        else skipped++
      }
      // a file that fails before its tests run (import error, failing hook) has no failed test to count
      if (module.state() === 'failed' && ![...module.children.allTests()].some((t) => t.result().state === 'failed')) failed++
    }
    failed += unhandledErrors.length
    if (skipped > 0) process.stdout.write(`${skipped} skipped\n`)
    process.stdout.write(`${passed} passed, ${failed} failed\n`)
  }
}
