import fp from 'fastify-plugin'
import { LiveHub } from '../live/hub.js'

declare module 'fastify' {
  interface FastifyInstance {
    hub: LiveHub
  }
}

export default fp<{ tickMs: number }>(async (app, { tickMs }) => {
  const hub = new LiveHub(app.bus, tickMs, app.startupPositions.map((p) => ({
    deviceId: p.deviceId,
    vehicleId: p.vehicleId,
    lat: p.lat,
    lon: p.lon,
    speed: p.speed,
    heading: p.heading,
    time: p.time.getTime()
  })))
  app.decorate('hub', hub)
  app.addHook('onClose', async () => { hub.close() })
}, { name: 'trackstream-live', dependencies: ['trackstream-pipeline'] })
