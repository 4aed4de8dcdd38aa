import type { FastifyRequest, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import type { Access } from '../auth/permissions.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call this route: declared next to every route, checked in plugins/auth.ts. */
    access?: Access
  }
  interface FastifyInstance {
    /** Every route and what it declared, "GET /api/parcels" → access; the access test reads it. */
    routeAccess: () => Map<string, Access | undefined>
  }
}

/** Swagger UI's own pages, which declare nothing and are public: the API's documentation. */
export const DOCS_ROUTE = /^\/docs(\/|$)/

/**
 * Registered first, so it sees every route: keeps what each declared, and meters every
 * credentialed route per key or session (public routes set their own limits).
 */
export default fp<{ perKeyPerMinute: number }>(async (app, { perKeyPerMinute }) => {
  const routes: RouteOptions[] = []
  // read when asked: a plugin's own onRoute hook (the dashboard's static files) may declare after this one runs
  app.decorate('routeAccess', () => new Map(routes
    .filter((route) => !DOCS_ROUTE.test(route.url))
    .flatMap((route) => [route.method].flat().filter((method) => method !== 'HEAD').map((method) => [`${method} ${route.url}`, route.config?.access] as const))))

  app.addHook('onRoute', (route: RouteOptions) => {
    routes.push(route)
    const declared = route.config?.access
    // the OpenAPI document says what each operation needs, from the same declaration the door checks
    if (declared !== undefined && declared !== 'public' && declared !== 'device' && route.schema !== undefined) {
      const said = (route.schema as { description?: string }).description
      route.schema = { ...route.schema, description: `${said === undefined ? '' : `${said}\n\n`}Needs the \`${declared}\` permission.` } as typeof route.schema
    }
    if (perKeyPerMinute > 0 && declared !== undefined && declared !== 'public' && declared !== 'device' && route.config?.rateLimit === undefined) {
      route.config = {
        ...route.config,
        rateLimit: { max: perKeyPerMinute, timeWindow: 60_000, keyGenerator: (request: FastifyRequest) => request.principal?.actor ?? request.ip }
      }
    }
  })
}, { name: 'trackstream-route-access' })
