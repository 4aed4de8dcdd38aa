export interface LiveSocket {
  send: (message: unknown) => void
  close: () => void
}

/**
 * A WebSocket that comes back by itself: after a drop it reconnects with backoff, and onOpen runs
 * again so the page can resubscribe and resync from the fresh snapshot.
 */
export function openLiveSocket (
  path: string,
  handlers: { onOpen: (socket: LiveSocket) => void, onMessage: (message: unknown) => void, onStatus?: (connected: boolean) => void }
): LiveSocket {
  let socket: WebSocket | undefined
  let closed = false
  let delay = 500
  const live: LiveSocket = {
    send: (message) => { if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message)) },
    close: () => { closed = true; socket?.close() }
  }
  const connect = (): void => {
    const url = new URL(path, window.location.href)
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
    socket = new WebSocket(url)
    socket.addEventListener('open', () => {
      delay = 500
      handlers.onStatus?.(true)
      handlers.onOpen(live)
    })
    socket.addEventListener('message', (event) => {
      if (typeof event.data === 'string') handlers.onMessage(JSON.parse(event.data))
    })
    socket.addEventListener('close', () => {
      handlers.onStatus?.(false)
      if (closed) return
      setTimeout(connect, delay)
      delay = Math.min(delay * 2, 15_000)
    })
  }
  connect()
  return live
}
