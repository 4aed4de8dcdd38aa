interface Money { currency: string, minor: string, amount: string }
interface Balance { account: string, holder: string, balance: Money, since: string | null }
interface Discrepancy { trackingNumber: string, owing: Money, since: string }
interface Batch { id: string, merchantId: string, state: string, lines: number, net: Money, createdAt: string }
interface Handover { id: string, driver: string, stationId: string, at: string, discrepancy: boolean, lines: Array<{ currency: string, difference: Money }> }

export interface CashPanel {
  balances: HTMLTableSectionElement
  discrepancies: HTMLUListElement
  handovers: HTMLUListElement
  batches: HTMLUListElement
}

const REFRESH_MS = 30_000

/** Where the cash is now, in words a cashier uses; the ledger's own account names stay in the API. */
const ACCOUNT_LABELS: Record<string, string> = {
  driver_cash: 'With driver',
  hub_cash: 'At hub',
  partner_cash: 'With partner',
  provider: 'Payment provider',
  bank: 'In the bank',
  merchant_payable: 'Owed to merchant',
  fees: 'Fees earned',
  shortage: 'Short',
  cod_due: 'Owed by buyers'
}

/**
 * The Cash panel: every balance the ledger holds, per account and holder, with how long the oldest
 * cash in it has been there; the deliveries whose cash did not match what the buyer owed; the
 * handovers at hubs that did not count out; and the latest remittance batches with their state.
 */
export function startCashPanel (panel: CashPanel): void {
  const read = async <T>(url: string): Promise<T[] | undefined> =>
    await fetch(url).then(async (r) => r.ok ? (await r.json() as { items: T[] }).items : undefined).catch(() => undefined)
  const listItem = (text: string, data: Record<string, string>): HTMLLIElement => {
    const li = document.createElement('li')
    Object.assign(li.dataset, data)
    li.textContent = text
    return li
  }
  const refresh = async (): Promise<void> => {
    const [balances, discrepancies, handovers, batches] = await Promise.all([
      read<Balance>('/api/cash/balances'),
      read<Discrepancy>('/api/cash/discrepancies?limit=50'),
      read<Handover>('/api/cash/handovers?limit=50'),
      read<Batch>('/api/remittances?limit=10')
    ])
    if (balances !== undefined) panel.balances.replaceChildren(...balances.map(balanceRow))
    if (discrepancies !== undefined) {
      panel.discrepancies.replaceChildren(...discrepancies.map((d) => listItem(
        `${d.trackingNumber}: ${d.owing.amount.startsWith('-') ? 'paid over by' : 'paid short by'} ${d.owing.amount.replace(/^-/, '')} ${d.owing.currency}`,
        { trackingNumber: d.trackingNumber })))
    }
    if (handovers !== undefined) {
      panel.handovers.replaceChildren(...handovers.filter((h) => h.discrepancy).map((h) => listItem(
        `${h.driver} at ${h.stationId}: ${h.lines.filter((l) => l.difference.minor !== '0').map((l) => `${l.difference.amount} ${l.currency}`).join(', ') || 'declared differs from counted'}`,
        { handover: h.id })))
    }
    if (batches !== undefined) {
      panel.batches.replaceChildren(...batches.map((b) => listItem(
        `${b.merchantId}: ${b.lines} parcels, net ${b.net.amount} ${b.net.currency}, ${b.state}`, { batch: b.id, state: b.state })))
    }
  }
  void refresh()
  setInterval(() => { void refresh() }, REFRESH_MS)
}

function balanceRow (balance: Balance): HTMLTableRowElement {
  const tr = document.createElement('tr')
  tr.dataset.account = balance.account
  tr.dataset.holder = balance.holder
  for (const text of [ACCOUNT_LABELS[balance.account] ?? balance.account, balance.holder === '' ? '–' : balance.holder, `${balance.balance.amount} ${balance.balance.currency}`, age(balance.since)]) {
    const td = document.createElement('td')
    td.textContent = text
    tr.append(td)
  }
  return tr
}

function age (since: string | null): string {
  if (since === null) return ''
  const hours = (Date.now() - Date.parse(since)) / 3_600_000
  return hours < 1 ? 'under 1 h' : hours < 48 ? `${Math.floor(hours)} h` : `${Math.floor(hours / 24)} d`
}
