import type { FastifyPluginAsync } from 'fastify'
import { MAX_BUFFERED_BYTES } from '../live/bounded-send.js'
import type { BBox, LiveFormat } from '../live/hub.js'

const BAD_VIEWPORT = JSON.stringify({ type: 'error', error: 'expected {"type":"viewport","bbox":[west,south,east,north]|null,"format"?:"json"|"protobuf"}' })

/**
 * The ops map's live feed. Client → server: {"type":"viewport","bbox":[west,south,east,north]}
 * (or null for everything), optionally with "format":"protobuf". Server → client: a snapshot of
 * the viewport, then one "positions" frame per tick with what moved in it; JSON text messages, or
 * binary messages holding live.proto's LiveFrame when asked for. Errors are always JSON text.
 */
const live: FastifyPluginAsync = async (app) => {
  app.get<{ Querystring: { snapshot: 'now' | 'on-viewport' } }>('/ws/live', {
    config: { access: 'fleet:read' },
    websocket: true,
    // the session cookie rides on any site's upgrade request: it counts only from our own origins
    onRequest: [app.requireOwnOrigin],
    schema: {
      tags: ['live'],
      summary: 'WebSocket: live vehicle positions for the ops map (API key or session required)',
      querystring: {
        type: 'object',
        properties: {
          snapshot: {
            type: 'string',
            enum: ['now', 'on-viewport'],
            default: 'now',
            description: '"on-viewport": send nothing until the first viewport message, so a client that subscribes at once is not first sent the whole world in JSON'
          }
        }
      }
    }
  }, (socket, request) => {
    const viewer = request.query.snapshot === 'on-viewport' ? app.hub.addOpsAwaitingViewport(socket) : app.hub.addOps(socket)
    socket.on('message', (data, isBinary) => {
      const viewport = isBinary ? undefined : parseViewport(data.toString())
      if (viewport === undefined) {
        // a client that sends garbage and never reads gets no unbounded pile of answers
        if (socket.bufferedAmount <= MAX_BUFFERED_BYTES) socket.send(BAD_VIEWPORT)
        return
      }
      viewer.setViewport(viewport.bbox, viewport.format)
    })
    socket.on('close', () => { viewer.close() })
  })
}

export interface Viewport {
  /** null means the whole world */
  bbox: BBox | null
  format: LiveFormat
}

/**
 * undefined for anything malformed, including an unknown format. Each viewport message states the
 * whole subscription: one without "format" is JSON, whatever came before.
 */
export function parseViewport (text: string): Viewport | undefined {
  let message: unknown
  try {
    message = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof message !== 'object' || message === null || (message as { type?: unknown }).type !== 'viewport') return undefined
  const { bbox, format = 'json' } = message as { bbox?: unknown, format?: unknown }
  if (format !== 'json' && format !== 'protobuf') return undefined
  const parsed = parseBBox(bbox)
  return parsed === undefined ? undefined : { bbox: parsed, format }
}

function parseBBox (bbox: unknown): BBox | null | undefined {
  if (bbox === null) return null
  if (!Array.isArray(bbox) || bbox.length !== 4 || !bbox.every((n) => typeof n === 'number' && Number.isFinite(n))) return undefined
  const [west, south, east, north] = bbox as BBox
  if (south > north || Math.abs(south) > 90 || Math.abs(north) > 90 || Math.abs(west) > 180 || Math.abs(east) > 180) return undefined
  return [west, south, east, north]
}

export default live
