import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const IMPORT = /^(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'/gm

/** Every module of ours and the modules of ours it imports, as paths from the repository root. */
function importGraph (): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  for (const dir of ['proto', 'gateway', 'server']) {
    for (const file of readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts')) continue
      const from = path.join(dir, file)
      const text = readFileSync(path.join(ROOT, from), 'utf8')
      graph.set(from, [...text.matchAll(IMPORT)].map((m) => path.normalize(path.join(path.dirname(from), (m[1] as string).replace(/\.js$/, '.ts')))))
    }
  }
  return graph
}

/** Tarjan's strongly connected components with more than one module: the import cycles. */
function cycles (graph: Map<string, string[]>): string[][] {
  let index = 0
  const indices = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (node: string): void => {
    indices.set(node, index)
    low.set(node, index++)
    stack.push(node)
    onStack.add(node)
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue
      if (!indices.has(next)) {
        visit(next)
        low.set(node, Math.min(low.get(node) as number, low.get(next) as number))
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) as number, indices.get(next) as number))
      }
    }
    if (low.get(node) === indices.get(node)) {
      const component: string[] = []
      for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
        onStack.delete(top)
        component.push(top)
        if (top === node) break
      }
      if (component.length > 1) found.push(component.sort())
    }
  }
  for (const node of graph.keys()) if (!indices.has(node)) visit(node)
  return found
}

const graph = importGraph()
const importsOf = (prefix: string): Array<[string, string]> =>
  [...graph].filter(([from]) => from.startsWith(prefix)).flatMap(([from, to]) => to.map((target): [string, string] => [from, target]))

describe('the layers', () => {
  it('has no import cycle', () => {
    expect(cycles(graph)).toEqual([])
  })

  it.each([
    ['proto/', ['gateway/', 'server/']],
    ['gateway/', ['server/']],
    ['server/model.ts', ['server/db/', 'server/live/', 'server/engine/', 'server/pipeline/', 'server/plugins/', 'server/routes/', 'server/state/']],
    ['server/tracking/', ['server/db/', 'server/live/', 'server/engine/', 'server/pipeline/', 'server/plugins/', 'server/routes/', 'server/state/']],
    ['server/db/', ['server/live/', 'server/engine/', 'server/pipeline/', 'server/plugins/', 'server/routes/']],
    ['server/live/', ['server/db/', 'server/pipeline/', 'server/plugins/', 'server/routes/']],
    ['server/engine/', ['server/pipeline/', 'server/plugins/', 'server/routes/']],
    ['server/pipeline/', ['server/plugins/', 'server/routes/']]
  ])('%s imports nothing from %j', (layer, above) => {
    expect(importsOf(layer).filter(([, target]) => above.some((prefix) => target.startsWith(prefix)))).toEqual([])
  })

  it('keeps the domain model on the ground floor: it imports only vocabulary', () => {
    expect(graph.get('server/model.ts')?.sort()).toEqual([
      'gateway/decoders/format.ts', 'gateway/rejects.ts', 'proto/live-codec.ts', 'proto/types.ts',
      'server/tracking/custody.ts', 'server/tracking/geofence.ts', 'server/tracking/milestones.ts', 'server/tracking/parcel-track.ts',
      'server/tracking/rfid-smoothing.ts'
    ])
  })
})
