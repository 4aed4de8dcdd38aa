import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsync } from 'fastify'

export const DASHBOARD_DIST = fileURLToPath(new URL('../../dashboard/dist/', import.meta.url))

/** The ops map at / and the buyer's page at /t/<token>, built by `npm run build` into dashboard/dist. */
const dashboard: FastifyPluginAsync<{ basemapStyleUrl: string | undefined }> = async (app, { basemapStyleUrl }) => {
  if (!existsSync(DASHBOARD_DIST)) {
    app.log.warn(`${DASHBOARD_DIST} is missing: run "npm run build" to build the dashboard`)
    return
  }
  await app.register(fastifyStatic, { root: DASHBOARD_DIST, prefix: '/', index: false, wildcard: true, preCompressed: true })

  const page = { schema: { hide: true } }
  app.get('/', page, async (_request, reply) => await reply.sendFile('ops.html'))
  app.get('/t/:token', page, async (_request, reply) => await reply.sendFile('track.html'))
  app.get('/ui-config.json', {
    schema: {
      tags: ['operations'],
      summary: 'What the pages need to know: the basemap style (offline when null)',
      response: { 200: { type: 'object', properties: { basemapStyleUrl: { type: ['string', 'null'] } } } }
    }
  }, async () => ({ basemapStyleUrl: basemapStyleUrl ?? null }))
}

export default dashboard
