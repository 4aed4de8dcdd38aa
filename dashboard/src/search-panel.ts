import type { Map as MapLibreMap } from 'maplibre-gl'

interface SearchHit {
  kind: 'parcel' | 'vehicle' | 'device' | 'container'
  id: string
  label: string
  detail: string
  position: { lat: number, lon: number } | null
}

// long enough to skip the requests of a tracking number being typed, short enough to feel instant
const DEBOUNCE_MS = 200

/**
 * The search box at the top of the ops page: a tracking number, EPC, plate, vehicle or device
 * typed or scanned into it lists what matches; choosing one flies the map there. Enter picks the
 * first result at once, so pasting a tracking number and pressing Enter is one step.
 */
export function startSearchPanel (map: MapLibreMap): void {
  const input = element('search', HTMLInputElement)
  const results = element('search-results', HTMLUListElement)
  const status = element('search-status', HTMLElement)
  let timer: ReturnType<typeof setTimeout> | undefined
  // answers can arrive out of order: only the newest query's answer is shown
  let newest = 0

  const choose = (hit: SearchHit): void => {
    if (hit.position === null) {
      status.textContent = `${hit.label}: no position yet`
      return
    }
    map.flyTo({ center: [hit.position.lon, hit.position.lat], zoom: 14 })
    status.textContent = `${hit.label} on the map`
  }

  const run = async (): Promise<SearchHit[]> => {
    clearTimeout(timer)
    const query = input.value.trim()
    const ticket = ++newest
    if (query === '') {
      results.replaceChildren()
      status.textContent = ''
      return []
    }
    const response = await fetch(`/api/search?q=${encodeURIComponent(query)}`).catch(() => undefined)
    if (ticket !== newest) return []
    if (response?.ok !== true) {
      results.replaceChildren()
      status.textContent = response === undefined ? 'Search failed: the server did not answer' : `Search failed (HTTP ${response.status})`
      return []
    }
    const { items } = await response.json() as { items: SearchHit[] }
    results.replaceChildren(...items.map((hit) => entry(hit, choose)))
    status.textContent = items.length === 0 ? `Nothing matches “${query}”` : `${items.length} found`
    return items
  }

  input.addEventListener('input', () => {
    clearTimeout(timer)
    timer = setTimeout(() => { void run() }, DEBOUNCE_MS)
  })
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault()
      void run().then((items) => { if (items[0] !== undefined) choose(items[0]) })
    } else if (event.key === 'ArrowDown') {
      event.preventDefault()
      results.querySelector('button')?.focus()
    }
  })
  // arrow keys walk the list as in a listbox; Tab still works as for any buttons
  results.addEventListener('keydown', (event) => {
    const buttons = [...results.querySelectorAll('button')]
    const at = buttons.findIndex((button) => button === document.activeElement)
    if (at < 0) return
    if (event.key === 'ArrowDown') buttons[at + 1]?.focus()
    else if (event.key === 'ArrowUp') (buttons[at - 1] ?? input).focus()
    else if (event.key === 'Escape') input.focus()
    else return
    event.preventDefault()
  })
}

function entry (hit: SearchHit, choose: (hit: SearchHit) => void): HTMLLIElement {
  const item = document.createElement('li')
  const button = document.createElement('button')
  button.type = 'button'
  button.dataset.kind = hit.kind
  button.dataset.id = hit.id
  const label = document.createElement('strong')
  label.textContent = hit.label
  const detail = document.createElement('span')
  detail.className = 'detail'
  detail.textContent = hit.position === null ? `${hit.detail} · no position yet` : hit.detail
  button.append(label, detail)
  button.addEventListener('click', () => { choose(hit) })
  item.append(button)
  return item
}

/** The page's markup is part of this panel: fail loudly when it is missing, not later with a null. */
function element<T extends HTMLElement> (id: string, type: new () => T): T {
  const found = document.getElementById(id)
  if (!(found instanceof type)) throw new Error(`#${id} is missing from the ops page`)
  return found
}
