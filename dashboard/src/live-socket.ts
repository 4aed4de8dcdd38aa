export interface LiveSocket {
  send: (message: unknown) => void
  close: () => void
}

type Codec = typeof import('../../proto/live-codec.js')

/**
 * A WebSocket that comes back by itself: after a drop it reconnects with backoff, and onOpen runs
 * again so the page can resubscribe and resync from the fresh snapshot.
 *
 * Text messages are JSON; binary ones are live.proto frames (the ops feed with
 * "format":"protobuf"), decoded into the same object a JSON frame gives. The decoder is loaded
 * only when a page asks for protobuf, so the buyer's page, which shares this module, does not
 * carry protobufjs.
 */
export function openLiveSocket (
  path: string,
  handlers: {
    onOpen: (socket: LiveSocket) => void
    onMessage: (message: unknown) => void
    onStatus?: (connected: boolean) => void
    /** The server closed it with a code of its own (4000 and up); true stops the reconnecting (the buyer's link no longer works). */
    onRefused?: (code: number, reason: string) => boolean
  }
): LiveSocket {
  let socket: WebSocket | undefined
  let closed = false
  let delay = 500
  let codec: Promise<Codec> | undefined
  const loadCodec = async (): Promise<Codec> => await (codec ??= import('../../proto/live-codec.js'))
  const live: LiveSocket = {
    send: (message) => {
      // start fetching the decoder with the request, so it is there when the first binary frame is
      if ((message as { format?: unknown } | null)?.format === 'protobuf') void loadCodec()
      if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message))
    },
    close: () => { closed = true; socket?.close() }
  }
  // frames must reach the page in the order they came, and decoding waits for the decoder once
  let queue: Promise<void> = Promise.resolve()
  let pending = 0
  const deliver = (data: unknown): void => {
    if (typeof data === 'string' && pending === 0) {
      handlers.onMessage(JSON.parse(data))
      return
    }
    pending++
    queue = queue
      .then(async () => {
        handlers.onMessage(typeof data === 'string' ? JSON.parse(data) : (await loadCodec()).decodeLiveFrame(new Uint8Array(data as ArrayBuffer)))
      })
      .catch((error: unknown) => { console.error(error) })
      .finally(() => { pending-- })
  }
  const connect = (): void => {
    if (closed) return
    const url = new URL(path, window.location.href)
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
    socket = new WebSocket(url)
    socket.binaryType = 'arraybuffer'
    socket.addEventListener('open', () => {
      delay = 500
      handlers.onStatus?.(true)
      handlers.onOpen(live)
    })
    socket.addEventListener('message', (event) => { deliver(event.data) })
    socket.addEventListener('close', (event) => {
      handlers.onStatus?.(false)
      if (closed) return
      if (event.code >= 4000 && handlers.onRefused?.(event.code, event.reason) === true) {
        closed = true
        return
      }
      setTimeout(connect, delay)
      delay = Math.min(delay * 2, 15_000)
    })
  }
  connect()
  return live
}
