#!/usr/bin/env node
// `npx trackstream …`: runs the TypeScript CLI through tsx, as `npm start` runs the server.
import { register } from 'tsx/esm/api'
register()
const { run, UsageError } = await import('./main.ts')
run(process.argv.slice(2)).then((code) => { process.exitCode = code }, (error) => {
  console.error(error instanceof UsageError ? `trackstream: ${error.message}` : error)
  process.exitCode = error instanceof UsageError ? 2 : 1
})
