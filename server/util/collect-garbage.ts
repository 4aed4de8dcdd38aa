import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

let gc: (() => void) | undefined

/**
 * One full collection now. For after start-up's bulk load alone: reading a million parcels leaves
 * as much garbage as it keeps, which V8 would otherwise hold (as resident memory) for minutes.
 * Node exposes the collector only behind a flag, which can be set at run time for a new context.
 */
export function collectGarbage (): void {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc')
    gc = runInNewContext('gc') as () => void
  }
  gc()
}
