import { setImmediate as nextTurn } from 'node:timers/promises'

/**
 * For long sweeps on the event loop: `await pause()` every item, and it lets other work (MQTT
 * acknowledgements, WebSocket frames) run whenever the sweep has held the loop for `sliceMs`.
 */
export function cooperative (sliceMs = 4): () => Promise<void> | undefined {
  let since = performance.now()
  let count = 0
  return () => {
    // reading the clock costs more than the check: look at it every 64 items
    if ((++count & 63) !== 0 || performance.now() - since < sliceMs) return undefined
    return nextTurn().then(() => { since = performance.now() })
  }
}
