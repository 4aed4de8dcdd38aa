/**
 * How a merchant is paid (merchants.settlement_cycle, .fees; PUT /api/merchants/{id}/settlement).
 * Amounts are integer minor units of the merchant's settlement currency; rates in basis points
 * (1 % = 100), so no fee is ever computed in floating point.
 */
export type SettlementCycle =
  /** D+n after the delivery: n working days (Monday to Friday; the default) or calendar days, in the merchant's time zone. */
  | { kind: 'days_after_delivery', days: number, workingDays?: boolean }
  /** On the named weekdays (0 Sunday … 6 Saturday), for everything delivered before that day. */
  | { kind: 'weekly', weekdays: number[] }

export interface FeeSchedule {
  /** The COD fee: this share of the COD collected, in basis points, and at least codFeeMinimum. */
  codFeeBasisPoints: number
  codFeeMinimum: number
  /** A fixed fee per parcel remitted. */
  fixedPerParcel: number
  /** A returned parcel's charge. */
  returnCharge: number
  /** Shipping charges: taken from the remittance, or invoiced apart (then not in the batch). */
  shipping: 'deducted' | 'invoiced'
}

export const DEFAULT_CYCLE: SettlementCycle = { kind: 'days_after_delivery', days: 2, workingDays: true }
export const NO_FEES: FeeSchedule = { codFeeBasisPoints: 0, codFeeMinimum: 0, fixedPerParcel: 0, returnCharge: 0, shipping: 'invoiced' }

/** The COD fee on one parcel's collected cash: basis points rounded half up, never below the minimum. */
export function codFee (collectedMinor: bigint, fees: FeeSchedule): bigint {
  const share = (collectedMinor * BigInt(fees.codFeeBasisPoints) + 5_000n) / 10_000n
  const minimum = BigInt(fees.codFeeMinimum)
  return share > minimum ? share : minimum
}

export const settlementCycleSchema = {
  oneOf: [
    {
      type: 'object',
      required: ['kind', 'days'],
      additionalProperties: false,
      properties: {
        kind: { const: 'days_after_delivery' },
        days: { type: 'integer', minimum: 0, maximum: 60 },
        workingDays: { type: 'boolean', description: 'count Monday to Friday only; true when absent' }
      }
    },
    {
      type: 'object',
      required: ['kind', 'weekdays'],
      additionalProperties: false,
      properties: {
        kind: { const: 'weekly' },
        weekdays: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'integer', minimum: 0, maximum: 6 } }
      }
    }
  ]
} as const

export const feeScheduleSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    codFeeBasisPoints: { type: 'integer', minimum: 0, maximum: 10_000, default: 0, description: '1 % = 100' },
    codFeeMinimum: { type: 'integer', minimum: 0, maximum: 1e12, default: 0, description: 'minor units of the settlement currency' },
    fixedPerParcel: { type: 'integer', minimum: 0, maximum: 1e12, default: 0 },
    returnCharge: { type: 'integer', minimum: 0, maximum: 1e12, default: 0 },
    shipping: { type: 'string', enum: ['deducted', 'invoiced'], default: 'invoiced' }
  }
} as const
