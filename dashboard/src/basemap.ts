import type { StyleSpecification } from 'maplibre-gl'

interface UiConfig {
  basemapStyleUrl: string | null
  basemapTileUrl: string | null
  basemapAttribution: string | null
}

/** BASEMAP_STYLE_URL or BASEMAP_TILE_URL when configured; otherwise the offline style served by this server. */
export async function basemapStyle (): Promise<string | StyleSpecification> {
  const config = await (await fetch('/ui-config.json')).json() as UiConfig
  if (config.basemapTileUrl !== null) return rasterStyle(config.basemapTileUrl, config.basemapAttribution)
  return config.basemapStyleUrl ?? offlineStyle(window.location.origin)
}

function rasterStyle (tiles: string, attribution: string | null): StyleSpecification {
  return {
    version: 8,
    sources: { tiles: { type: 'raster', tiles: [tiles], tileSize: 256, maxzoom: 19, ...(attribution === null ? {} : { attribution }) } },
    layers: [{ id: 'tiles', type: 'raster', source: 'tiles' }]
  }
}

export function offlineStyle (origin: string): StyleSpecification {
  return {
    version: 8,
    sources: {
      land: { type: 'geojson', data: `${origin}/basemap/land.geojson`, attribution: 'Natural Earth' },
      borders: { type: 'geojson', data: `${origin}/basemap/borders.geojson` }
    },
    layers: [
      { id: 'water', type: 'background', paint: { 'background-color': '#cfe0ea' } },
      { id: 'land', type: 'fill', source: 'land', paint: { 'fill-color': '#f4f1ea' } },
      { id: 'borders', type: 'line', source: 'borders', paint: { 'line-color': '#a39a8c', 'line-width': 0.8 } }
    ]
  }
}
