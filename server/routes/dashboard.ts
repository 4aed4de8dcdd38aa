import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsync } from 'fastify'

export const DASHBOARD_DIST = fileURLToPath(new URL('../../dashboard/dist/', import.meta.url))

/** The ops map at / and the buyer's page at /t/<token>, built by `npm run build` into dashboard/dist. */
interface BasemapOptions { styleUrl: string | undefined, tileUrl: string | undefined, attribution: string | undefined }

const dashboard: FastifyPluginAsync<{ basemap: BasemapOptions }> = async (app, { basemap }) => {
  if (!existsSync(DASHBOARD_DIST)) {
    app.log.warn(`${DASHBOARD_DIST} is missing: run "npm run build" to build the dashboard`)
    return
  }
  // the pages and their scripts are public; what they show comes from the API, which is not
  app.addHook('onRoute', (route) => { route.config = { ...route.config, access: 'public' } })
  await app.register(fastifyStatic, { root: DASHBOARD_DIST, prefix: '/', index: false, wildcard: true, preCompressed: true })

  const page = { config: { access: 'public' }, schema: { hide: true } } as const
  app.get('/', page, async (_request, reply) => await reply.sendFile('ops.html'))
  app.get('/t/:token', page, async (_request, reply) => await reply.sendFile('track.html'))
  app.get('/ui-config.json', {
    config: { access: 'public' },
    schema: {
      tags: ['operations'],
      summary: 'What the pages need to know: the basemap, a MapLibre style or an XYZ tile template (both null: the offline basemap)',
      response: {
        200: {
          type: 'object',
          properties: { basemapStyleUrl: { type: ['string', 'null'] }, basemapTileUrl: { type: ['string', 'null'] }, basemapAttribution: { type: ['string', 'null'] } }
        }
      }
    }
  }, async () => ({ basemapStyleUrl: basemap.styleUrl ?? null, basemapTileUrl: basemap.tileUrl ?? null, basemapAttribution: basemap.attribution ?? null }))
}

export default dashboard
