interface CodTotal { currency: string, parcels: number, expected: string, collected: string, outstanding: string }

const REFRESH_MS = 60_000

/** Cash on delivery per currency, for the roles that settle it: the amounts exactly as the API gives them. */
export function startFinancePanel (body: HTMLTableSectionElement): void {
  const refresh = async (): Promise<void> => {
    const response = await fetch('/api/finance/cod').catch(() => undefined)
    if (response?.ok !== true) return
    const { items } = await response.json() as { items: CodTotal[] }
    body.replaceChildren(...items.map((total) => {
      const tr = document.createElement('tr')
      for (const text of [total.currency, String(total.parcels), total.expected, total.collected, total.outstanding]) {
        const td = document.createElement('td')
        td.textContent = text
        tr.append(td)
      }
      return tr
    }))
  }
  void refresh()
  setInterval(() => { void refresh() }, REFRESH_MS)
}
