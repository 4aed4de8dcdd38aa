import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import type { IncomingMessage } from 'node:http'
import path from 'node:path'
import helmet from '@fastify/helmet'
import fp from 'fastify-plugin'

export interface SecurityHeadersOptions {
  /** BASEMAP_STYLE_URL, BASEMAP_TILE_URL: their origins may be fetched from and shown as images. */
  basemapStyleUrl: string | undefined
  basemapTileUrl: string | undefined
  /** CSP_EXTRA_ORIGINS: what a style names beyond its own origin (glyphs, sprites, tile servers). */
  extraOrigins: string[]
  /** The built pages (dashboard/dist): their inline <style> blocks are allowed by hash. */
  pagesDir: string
}

/**
 * A year, without includeSubDomains: trackstream cannot know whether its hostname's siblings all
 * speak TLS, and a wrong includeSubDomains locks browsers out of them for that year.
 */
const HSTS = 'max-age=31536000'

/**
 * The security headers on every HTTP answer (helmet), and a Content-Security-Policy the ops map
 * and the buyer's page work under:
 * - scripts only from this server: the pages have no inline script, and none may be added;
 * - styles from this server, plus the pages' own <style> blocks by hash (no 'unsafe-inline');
 *   MapLibre and the pages set styles through the CSSOM, which CSP does not restrict;
 * - MapLibre's worker comes from this server, or from a blob: URL when it must wrap it;
 * - images and fetches from this server, data:/blob: images (MapLibre decodes tiles and icons
 *   into blobs), the basemap's origins and CSP_EXTRA_ORIGINS; the live WebSockets go to the same
 *   host, named besides 'self' since only CSP Level 3 browsers count ws:/wss: as 'self';
 * - no framing anywhere (frame-ancestors 'none', and X-Frame-Options for old browsers).
 * HSTS is sent only on answers that went over TLS: directly (HTTP_TLS) or, with TRUST_PROXY, to
 * a proxy that said X-Forwarded-Proto: https.
 */
export default fp<SecurityHeadersOptions>(async (app, options) => {
  const outside = externalOrigins(options)
  await app.register(helmet, {
    contentSecurityPolicy: {
      // helmet's defaults carry upgrade-insecure-requests, which turns every request of a page
      // served over plain HTTP (say http://10.0.0.5:8080) into an HTTPS one that fails
      useDefaults: false,
      directives: {
        'default-src': ["'self'"],
        'base-uri': ["'self'"],
        'script-src': ["'self'"],
        'script-src-attr': ["'none'"],
        'style-src': ["'self'", ...inlineStyleHashes(options.pagesDir)],
        'img-src': ["'self'", 'data:', 'blob:', ...outside],
        'font-src': ["'self'"],
        'connect-src': ["'self'", sameHostWebSockets, ...outside],
        'worker-src': ["'self'", 'blob:'],
        'child-src': ["'self'", 'blob:'],
        'object-src': ["'none'"],
        'form-action': ["'self'"],
        'frame-ancestors': ["'none'"]
      }
    },
    frameguard: { action: 'deny' },
    // buyer tracking links carry their token in the path (/t/<token>): no page of ours may hand
    // its address to another site, not even to the basemap's tile server
    referrerPolicy: { policy: 'no-referrer' },
    // sent below, per request, and only over TLS
    strictTransportSecurity: false
  })
  app.addHook('onRequest', async (request, reply) => {
    if (request.protocol === 'https') void reply.header('strict-transport-security', HSTS)
  })
}, { name: 'trackstream-security-headers' })

/**
 * Swagger UI's own policy (/docs), looser than the pages': it styles itself with inline styles
 * and shows data: images. Still scripts from this server only, and still no framing.
 */
export const DOCS_CSP: Record<string, string> = {
  'default-src': "'self'",
  'base-uri': "'self'",
  'script-src': "'self'",
  'style-src': "'self' 'unsafe-inline'",
  'img-src': "'self' data:",
  'font-src': "'self' data:",
  'connect-src': "'self'",
  'object-src': "'none'",
  'form-action': "'self'",
  'frame-ancestors': "'none'"
}

/** ws:// and wss:// to the host the page was asked for, read from the Host header. */
function sameHostWebSockets (request: IncomingMessage): string {
  const host = request.headers.host ?? ''
  // anything else could end the directive, or add one: the header would then be refused
  if (!/^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/.test(host)) return ''
  return `ws://${host} wss://${host}`
}

/** The basemap's origins and CSP_EXTRA_ORIGINS (validated in config.ts), once each. */
export function externalOrigins (options: Pick<SecurityHeadersOptions, 'basemapStyleUrl' | 'basemapTileUrl' | 'extraOrigins'>): string[] {
  const origins = new Set<string>()
  for (const url of [options.basemapStyleUrl, options.basemapTileUrl]) {
    if (url === undefined) continue
    // a tile template's {z}/{x}/{y} sit in the path, so the URL parses as it is
    const origin = new URL(url).origin
    if (/^https?:\/\/[A-Za-z0-9.:[\]-]+$/.test(origin)) origins.add(origin)
  }
  for (const origin of options.extraOrigins) origins.add(origin)
  return [...origins]
}

/**
 * 'sha256-…' for each <style> block of the built pages, read once at start: the hashes follow
 * whatever the pages hold, with no list to keep in step by hand.
 */
function inlineStyleHashes (pagesDir: string): string[] {
  let pages: string[]
  try {
    pages = readdirSync(pagesDir).filter((file) => file.endsWith('.html'))
  } catch {
    return [] // no dashboard built: routes/dashboard.ts says so
  }
  const hashes = new Set<string>()
  for (const page of pages) {
    const html = readFileSync(path.join(pagesDir, page), 'utf8')
    for (const match of html.matchAll(/<style(?:\s[^>]*)?>([\s\S]*?)<\/style>/g)) {
      // the HTML parser turns CR LF into LF before the browser hashes the text
      const text = (match[1] as string).replace(/\r\n?/g, '\n')
      hashes.add(`'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`)
    }
  }
  return [...hashes]
}
