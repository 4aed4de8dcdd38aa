import { copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises'
import { brotliCompressSync, gzipSync } from 'node:zlib'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { feature, mesh } from 'topojson-client'
import type { GeometryCollection, Topology } from 'topojson-specification'

const here = path.dirname(fileURLToPath(import.meta.url))
const dist = path.join(here, 'dist')
const require = createRequire(import.meta.url)

/**
 * Builds dashboard/dist: the two pages, their bundles, and the offline basemap. The basemap is
 * Natural Earth 1:50m land and borders from the world-atlas package, so the default map needs
 * no request beyond this server.
 */
export async function buildDashboard (): Promise<void> {
  await mkdir(path.join(dist, 'basemap'), { recursive: true })
  await build({
    entryPoints: [path.join(here, 'src/ops.ts'), path.join(here, 'src/track.ts')],
    outdir: dist,
    bundle: true,
    splitting: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    // protobufjs tries require('long') and falls back to plain numbers without it; the live feed's
    // 64-bit fields (times in ms) fit a number, so the page need not carry it (about 3 KB brotli)
    external: ['long'],
    logLevel: 'warning'
  })
  // maplibre-gl looks for its worker next to the script that imported it, i.e. beside ops.js
  await copyFile(require.resolve('maplibre-gl/dist/maplibre-gl-worker.mjs'), path.join(dist, 'maplibre-gl-worker.mjs'))
  for (const bundle of (await readdir(dist)).filter((file) => file.endsWith('.js') || file.endsWith('.mjs'))) {
    const code = await readFile(path.join(dist, bundle))
    await writeFile(path.join(dist, `${bundle}.gz`), gzipSync(code))
    await writeFile(path.join(dist, `${bundle}.br`), brotliCompressSync(code))
  }
  for (const page of await readdir(path.join(here, 'pages'))) {
    await copyFile(path.join(here, 'pages', page), path.join(dist, page))
  }
  await copyFile(require.resolve('maplibre-gl/dist/maplibre-gl.css'), path.join(dist, 'maplibre-gl.css'))
  await writeBasemap()
}

async function writeBasemap (): Promise<void> {
  const read = async (file: string): Promise<Topology> =>
    JSON.parse(await readFile(require.resolve(`world-atlas/${file}`), 'utf8')) as Topology
  const land = await read('land-50m.json')
  const countries = await read('countries-50m.json')
  await writeCompressed('basemap/land.geojson', feature(land, land.objects.land as GeometryCollection))
  // borders between countries only: coastlines come from the land fill
  await writeCompressed('basemap/borders.geojson', mesh(countries, countries.objects.countries as GeometryCollection, (a, b) => a !== b))
  await copyFile(require.resolve('world-atlas/LICENSE'), path.join(dist, 'basemap/LICENSE-world-atlas.txt'))
}

/** Four decimals (about 10 m) is far finer than 1:50m data; @fastify/static serves the .br and .gz. */
async function writeCompressed (file: string, geojson: unknown): Promise<void> {
  const text = JSON.stringify(geojson, (_key, value: unknown) => typeof value === 'number' ? Math.round(value * 1e4) / 1e4 : value)
  await writeFile(path.join(dist, file), text)
  await writeFile(path.join(dist, `${file}.gz`), gzipSync(text))
  await writeFile(path.join(dist, `${file}.br`), brotliCompressSync(text))
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildDashboard()
