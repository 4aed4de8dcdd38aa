import autocannon from 'autocannon'

/**
 * autocannon in a process of its own. The first IPC message: { base, paths, headers, connections,
 * seconds }; each request takes a random one of `paths`, as many buyers open many tracking links.
 */
const { base, paths, headers, connections, seconds } = await new Promise<{
  base: string, paths: string[], headers: Record<string, string>, connections: number, seconds: number
}>((resolve) => { process.once('message', resolve) })
// one pass first, then measure: steady state, for every target alike (a cache warms, the JIT settles)
await autocannon({
  url: base,
  connections,
  duration: Math.max(3, Math.round(seconds / 4)),
  headers,
  requests: [{ setupRequest: (request) => ({ ...request, path: paths[Math.floor(Math.random() * paths.length)] ?? '/' }) }]
})
const result = await autocannon({
  url: base,
  connections,
  duration: seconds,
  headers,
  requests: [{ setupRequest: (request) => ({ ...request, path: paths[Math.floor(Math.random() * paths.length)] ?? '/' }) }]
})
process.send?.({
  type: 'done',
  requestsPerS: result.requests.average,
  latencyMs: { p50: result.latency.p50, p97_5: result.latency.p97_5, p99: result.latency.p99, max: result.latency.max },
  non2xx: result.non2xx,
  errors: result.errors
})
