/**
 * The milestone vocabulary. Each code is a statement a buyer, a merchant or an ops desk acts on.
 * `label` is the customer-facing wording; `publicVisible` says whether the buyer's page shows it.
 */
export const MILESTONES = {
  info_received: { label: 'Shipment information received', publicVisible: true },
  picked_up: { label: 'Picked up', publicVisible: true },
  arrived_at_facility: { label: 'Arrived at facility', publicVisible: true },
  sorted: { label: 'Sorted', publicVisible: false },
  departed_facility: { label: 'Departed facility', publicVisible: true },
  loaded: { label: 'Loaded onto vehicle', publicVisible: false },
  unloaded: { label: 'Unloaded from vehicle', publicVisible: false },
  out_for_delivery: { label: 'Out for delivery', publicVisible: true },
  delivered: { label: 'Delivered', publicVisible: true }
} as const satisfies Record<string, { label: string, publicVisible: boolean }>

export type MilestoneCode = keyof typeof MILESTONES
export const MILESTONE_CODES = Object.keys(MILESTONES) as MilestoneCode[]

export function isMilestoneCode (code: string): code is MilestoneCode {
  return Object.hasOwn(MILESTONES, code)
}

/** The milestones an RFID reader at a station can stand for. */
export const SCAN_MILESTONES = ['arrived_at_facility', 'sorted', 'loaded', 'unloaded', 'departed_facility'] as const satisfies readonly MilestoneCode[]
export type ScanMilestoneCode = typeof SCAN_MILESTONES[number]
