interface Money { currency: string, minor: string, amount: string }
interface Balance { account: string, holder: string, balance: Money, since: string | null }
interface Discrepancy { trackingNumber: string, owing: Money, since: string }

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
 * cash in it has been there; and the deliveries whose cash did not match what the buyer owed.
 */
export function startCashPanel (balancesBody: HTMLTableSectionElement, discrepancyList: HTMLUListElement): void {
  const refresh = async (): Promise<void> => {
    const [balances, discrepancies] = await Promise.all([
      fetch('/api/cash/balances').then(async (r) => r.ok ? (await r.json() as { items: Balance[] }).items : undefined).catch(() => undefined),
      fetch('/api/cash/discrepancies?limit=50').then(async (r) => r.ok ? (await r.json() as { items: Discrepancy[] }).items : undefined).catch(() => undefined)
    ])
    if (balances !== undefined) balancesBody.replaceChildren(...balances.map(balanceRow))
    if (discrepancies !== undefined) {
      discrepancyList.replaceChildren(...discrepancies.map((d) => {
        const li = document.createElement('li')
        li.dataset.trackingNumber = d.trackingNumber
        const short = !d.owing.amount.startsWith('-')
        li.textContent = `${d.trackingNumber}: ${short ? 'paid short by' : 'paid over by'} ${d.owing.amount.replace(/^-/, '')} ${d.owing.currency}`
        return li
      }))
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
