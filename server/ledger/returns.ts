import type { MilestoneRow } from '../model.js'
import { transfer, type LedgerEntry } from './entries.js'

/** What a returned parcel's buyer still owed at the door, per currency (its cod_due balance). */
export interface Owing { parcelId: string, merchantId: string | null, currency: string, minor: bigint }

export function isReturn (row: MilestoneRow): boolean {
  return row.code === 'returned_to_sender'
}

/**
 * A parcel returned to its sender (RTO) will not pay what its buyer still owed: that COD is
 * reversed, so the operator no longer owes it to the merchant (cod_due / merchant_payable, the
 * other way round). Cash already collected stays booked where it is: refunding a buyer is a
 * correction of its own. The return charge is the remittance's to deduct (ledger/remittance.ts).
 */
export function returnEntries (row: MilestoneRow, owing: readonly Owing[]): LedgerEntry[] {
  return owing.filter((o) => o.parcelId === row.parcelId && o.minor > 0n).map((o) => ({
    key: `reversed:${o.parcelId}:${o.currency}`,
    at: new Date(row.time),
    cause: 'return' as const,
    causeRef: `returned_to_sender@${new Date(row.time).toISOString()}`,
    parcelId: o.parcelId,
    merchantId: o.merchantId,
    detail: {},
    lines: transfer(['merchant_payable', o.merchantId ?? ''], ['cod_due', ''], o.minor, o.currency, o.parcelId)
  }))
}
