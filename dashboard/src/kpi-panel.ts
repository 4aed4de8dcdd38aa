/** One row of GET /api/kpis. */
export interface Kpi {
  key: string
  parcels: number
  delivered: number
  onTimeRate: number | null
  deliverySuccessRate: number | null
  firstAttemptRate: number | null
  exceptionRate: number | null
  lossDamageRate: number | null
  cod: Array<{ currency: string, expected: string, collected: string, ratio: number | null }>
}

const COLUMNS: Array<{ label: string, rate: (k: Kpi) => number | null, good: 'high' | 'low' }> = [
  { label: 'On time', rate: (k) => k.onTimeRate, good: 'high' },
  { label: 'Delivered', rate: (k) => k.deliverySuccessRate, good: 'high' },
  { label: 'First attempt', rate: (k) => k.firstAttemptRate, good: 'high' },
  { label: 'Exceptions', rate: (k) => k.exceptionRate, good: 'low' },
  { label: 'Lost or damaged', rate: (k) => k.lossDamageRate, good: 'low' },
  { label: 'COD collected', rate: (k) => k.cod[0]?.ratio ?? null, good: 'high' }
]

const REFRESH_MS = 60_000

/** The last 30 days per last-mile partner (or lane), each rate drawn as a bar beside its figure. */
export function startKpiPanel (table: HTMLTableElement, grouping: HTMLSelectElement): void {
  const head = table.createTHead().insertRow()
  for (const text of ['', 'Parcels', ...COLUMNS.map((c) => c.label)]) {
    const th = document.createElement('th')
    th.scope = 'col'
    th.textContent = text
    head.append(th)
  }
  const body = table.createTBody()
  const refresh = async (): Promise<void> => {
    const response = await fetch(`/api/kpis?by=${encodeURIComponent(grouping.value)}`)
    if (!response.ok) return
    const { items } = await response.json() as { items: Kpi[] }
    body.replaceChildren(...items.map(row))
  }
  grouping.addEventListener('change', () => { void refresh() })
  void refresh()
  setInterval(() => { void refresh() }, REFRESH_MS)
}

function row (kpi: Kpi): HTMLTableRowElement {
  const tr = document.createElement('tr')
  tr.dataset.key = kpi.key
  const name = document.createElement('th')
  name.scope = 'row'
  name.textContent = kpi.key
  const parcels = document.createElement('td')
  parcels.textContent = String(kpi.parcels)
  tr.append(name, parcels, ...COLUMNS.map((column) => bar(column.rate(kpi), column.good)))
  const cod = kpi.cod[0]
  if (cod !== undefined) tr.title = kpi.cod.map((c) => `COD ${c.currency}: ${c.collected} of ${c.expected}`).join('; ')
  return tr
}

function bar (rate: number | null, good: 'high' | 'low'): HTMLTableCellElement {
  const td = document.createElement('td')
  if (rate === null) {
    td.textContent = '—'
    return td
  }
  const percent = Math.round(rate * 100)
  const fill = document.createElement('span')
  fill.className = `bar ${(good === 'high' ? rate >= 0.9 : rate <= 0.05) ? 'ok' : 'warn'}`
  fill.style.width = `${Math.min(100, percent)}%`
  fill.setAttribute('aria-hidden', 'true')
  const figure = document.createElement('span')
  figure.textContent = `${percent}%`
  td.append(figure, fill)
  return td
}
