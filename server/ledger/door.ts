import { parseAmount } from '../money/currency.js'
import type { MilestoneRow } from '../model.js'
import { transfer, type LedgerEntry } from './entries.js'

/** What the ledger needs of a parcel whose cash a milestone speaks of. */
export interface CodParcel {
  id: string
  merchantId: string | null
  /** What the buyer owes at the door, as stored (a decimal string), in codCurrency. */
  codAmount: string | null
  codCurrency: string | null
  /** The last-mile partner that delivers it (parcels.last_mile_partner), if it is not ours to deliver. */
  partner?: string | null
}

export type PaymentMethod = 'cash' | 'card' | 'qr'

/** Cash recorded through the API with no driver's device or vehicle to hold it (the ops desk typed it in). */
export const UNASSIGNED = 'unassigned'

/** The milestones the ledger books: a delivery (its COD falls due), and any word of cash taken at the door. */
export function booksDoorCash (row: MilestoneRow): boolean {
  return row.code === 'delivered' || (row.code === 'cod_collected' && row.detail?.cod !== undefined)
}

/**
 * The entries a delivery with cash on delivery makes, keyed so that a milestone recorded again
 * (redelivered, replayed after a crash, seen by two instances) makes them once:
 * - once per parcel, at its delivery (or the first word of cash taken, if that comes first), its
 *   COD falls due: the buyer owes it, and the operator owes it on to the merchant
 *   (cod_due / merchant_payable);
 * - per collection, what the driver took: in cash into the driver's hands (the driver app's device),
 *   by card or QR wallet to the payment provider (cod_due is credited by what was paid, so a short
 *   payment leaves the rest owing: a discrepancy, listed at GET /api/cash/discrepancies);
 * - cash a last-mile partner took: a delivery recorded through the API (source 'api', no device of
 *   ours) of a parcel that has a last-mile partner is the partner's own word (its integration
 *   posting the milestone), so the cash is the partner's to remit, into partner_cash[partner];
 *   its settlement file takes it from there to the bank (ledger/partner-settlement.ts). A
 *   delivery recorded by a device of ours is our driver's cash, whoever the partner.
 * A parcel without COD, or an amount that is not one of its currency, makes none.
 */
export function doorEntries (row: MilestoneRow, parcel: CodParcel): LedgerEntry[] {
  const cod = row.detail?.cod
  if (cod === undefined && row.code !== 'delivered') return []
  const entries: LedgerEntry[] = []
  const at = new Date(row.time)
  const merchant = parcel.merchantId ?? ''
  const due = parcel.codAmount === null || parcel.codCurrency === null ? null : parseAmount(parcel.codAmount, parcel.codCurrency)
  if (due !== null && due.minor > 0n) {
    entries.push({
      key: `due:${parcel.id}`,
      at,
      cause: 'delivery',
      causeRef: null,
      parcelId: parcel.id,
      merchantId: parcel.merchantId,
      detail: {},
      lines: transfer(['cod_due', ''], ['merchant_payable', merchant], due.minor, due.currency, parcel.id)
    })
  }
  // delivered with no word of cash: due, and owing until a cod_collected comes
  if (cod === undefined) return entries
  const paid = parseAmount(cod.amount, cod.currency)
  if (paid === null || paid.minor === 0n) return entries
  const method: PaymentMethod = cod.method ?? 'cash'
  const partner = parcel.partner ?? null
  const byPartner = row.source === 'api' && row.deviceId === null && partner !== null && partner !== ''
  const into: ['driver_cash' | 'partner_cash' | 'provider', string] = method !== 'cash'
    ? ['provider', method]
    : byPartner ? ['partner_cash', partner] : ['driver_cash', row.deviceId ?? row.vehicleId ?? UNASSIGNED]
  entries.push({
    key: `paid:${parcel.id}:${row.code}:${row.time}`,
    at,
    cause: 'collection',
    causeRef: `${row.code}@${at.toISOString()}`,
    parcelId: parcel.id,
    merchantId: parcel.merchantId,
    detail: { method, ...(due === null ? {} : { expected: due.minor.toString(), expectedCurrency: due.currency }) },
    lines: transfer(into, ['cod_due', ''], paid.minor, paid.currency, parcel.id)
  })
  return entries
}
