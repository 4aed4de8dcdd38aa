import type { WebSocket } from 'ws'

/** A viewer whose socket holds more than this unread is too far behind to catch up frame by frame. */
export const MAX_BUFFERED_BYTES = 1 << 20

/**
 * Sends a frame to a viewer that must not miss one (a buyer's milestones): while it keeps up. A
 * viewer that stops reading is closed (1013, try again later) rather than buffered without
 * bound; its page reconnects and starts again from a fresh snapshot.
 */
export function sendOrClose (socket: WebSocket, frame: string): void {
  if (socket.readyState !== socket.OPEN) return
  if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
    socket.close(1013, 'too far behind: reconnect for a fresh snapshot')
    return
  }
  socket.send(frame)
}
