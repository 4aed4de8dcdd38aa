import { describe, expect, it } from 'vitest'
import type { WebSocket } from 'ws'
import { MAX_BUFFERED_BYTES, sendOrClose } from '../../server/live/bounded-send.js'

function fakeSocket (bufferedAmount: number, readyState = 1): { socket: WebSocket, sent: string[], closed: Array<[number, string]> } {
  const sent: string[] = []
  const closed: Array<[number, string]> = []
  const socket = {
    OPEN: 1,
    readyState,
    bufferedAmount,
    send: (frame: string) => { sent.push(frame) },
    close: (code: number, reason: string) => { closed.push([code, reason]) }
  } as unknown as WebSocket
  return { socket, sent, closed }
}

describe('sendOrClose', () => {
  it('sends while the viewer keeps up, up to and including the limit', () => {
    const { socket, sent, closed } = fakeSocket(MAX_BUFFERED_BYTES)
    sendOrClose(socket, 'frame')
    expect(sent).toEqual(['frame'])
    expect(closed).toEqual([])
  })

  it('closes a viewer past the limit with 1013 instead of buffering more', () => {
    const { socket, sent, closed } = fakeSocket(MAX_BUFFERED_BYTES + 1)
    sendOrClose(socket, 'frame')
    expect(sent).toEqual([])
    expect(closed).toEqual([[1013, 'too far behind: reconnect for a fresh snapshot']])
  })

  it('sends nothing to a socket that is no longer open', () => {
    const { socket, sent, closed } = fakeSocket(0, 3)
    sendOrClose(socket, 'frame')
    expect([sent, closed]).toEqual([[], []])
  })
})
