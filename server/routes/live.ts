import type { FastifyPluginAsync } from 'fastify'
import type { BBox } from '../live/hub.js'

/**
 * The ops map's live feed. Client → server: {"type":"viewport","bbox":[west,south,east,north]}
 * (or null for everything). Server → client: a snapshot of the viewport, then one "positions"
 * frame per tick with what moved in it.
 */
const live: FastifyPluginAsync = async (app) => {
  app.get('/ws/live', {
    websocket: true,
    onRequest: app.requireOps,
    schema: {
      tags: ['live'],
      summary: 'WebSocket: live vehicle positions for the ops map (API key or session required)'
    }
  }, (socket) => {
    const viewer = app.hub.addOps(socket)
    socket.on('message', (data, isBinary) => {
      const bbox = isBinary ? undefined : parseViewport(data.toString())
      if (bbox === undefined) {
        socket.send(JSON.stringify({ type: 'error', error: 'expected {"type":"viewport","bbox":[west,south,east,north]|null}' }))
        return
      }
      viewer.setViewport(bbox)
    })
    socket.on('close', () => { viewer.close() })
  })
}

/** undefined for anything malformed; null means the whole world. */
export function parseViewport (text: string): BBox | null | undefined {
  let message: unknown
  try {
    message = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof message !== 'object' || message === null || (message as { type?: unknown }).type !== 'viewport') return undefined
  const bbox = (message as { bbox?: unknown }).bbox
  if (bbox === null) return null
  if (!Array.isArray(bbox) || bbox.length !== 4 || !bbox.every((n) => typeof n === 'number' && Number.isFinite(n))) return undefined
  const [west, south, east, north] = bbox as BBox
  if (south > north || Math.abs(south) > 90 || Math.abs(north) > 90 || Math.abs(west) > 180 || Math.abs(east) > 180) return undefined
  return [west, south, east, north]
}

export default live
