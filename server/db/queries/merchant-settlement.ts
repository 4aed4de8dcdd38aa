import type { FeeSchedule, SettlementCycle } from '../../ledger/settlement.js'
import type { Sql } from '../sql.js'

export interface MerchantSettlement {
  merchantId: string
  /** Null until set: the merchant is then paid in each parcel's own COD currency. */
  currency: string | null
  timezone: string
  cycle: SettlementCycle
  fees: Partial<FeeSchedule>
}

interface SettlementRow { id: string, settlement_currency: string | null, timezone: string, settlement_cycle: SettlementCycle, fees: Partial<FeeSchedule> }
const toSettlement = (row: SettlementRow): MerchantSettlement =>
  ({ merchantId: row.id, currency: row.settlement_currency, timezone: row.timezone, cycle: row.settlement_cycle, fees: row.fees })
const COLUMNS = 'id, settlement_currency, timezone, settlement_cycle, fees'

/** Null when there is no such merchant. */
export async function updateSettlement (sql: Sql, settlement: MerchantSettlement): Promise<MerchantSettlement | null> {
  const rows = await sql.query<SettlementRow>(
    `UPDATE merchants SET settlement_currency = $2, timezone = $3, settlement_cycle = $4, fees = $5 WHERE id = $1 RETURNING ${COLUMNS}`,
    [settlement.merchantId, settlement.currency, settlement.timezone, JSON.stringify(settlement.cycle), JSON.stringify(settlement.fees)])
  return rows[0] === undefined ? null : toSettlement(rows[0])
}

export async function selectSettlements (sql: Sql, merchantId: string | null = null): Promise<MerchantSettlement[]> {
  return (await sql.query<SettlementRow>(`SELECT ${COLUMNS} FROM merchants WHERE $1::text IS NULL OR id = $1 ORDER BY id`, [merchantId])).map(toSettlement)
}
