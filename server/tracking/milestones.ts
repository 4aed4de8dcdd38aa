import type { AttemptReason } from '../../proto/types.js'

/**
 * The milestone vocabulary: every statement a buyer, a merchant or an ops desk acts on.
 *
 * Each code carries the tag and sub-tag that parcel-tracking platforms use (AfterShip's
 * InTransit_003, Delivered_004, …) and a GS1 EPCIS 2.0 / CBV 2.0 business step and disposition,
 * so merchants and partners read it without a glossary. `publicVisible` says whether the buyer's
 * page shows it: internal handling steps and the ops desk's suspicions stay off it.
 */
export type TrackingTag = 'InfoReceived' | 'InTransit' | 'OutForDelivery' | 'AttemptFail' | 'Delivered' | 'AvailableForPickup' | 'Exception'

/** CBV 2.0 business steps and dispositions used here (https://ref.gs1.org/cbv/BizStep-…). */
export type BizStep = 'commissioning' | 'accepting' | 'receiving' | 'arriving' | 'staging_outbound' | 'departing' | 'loading' |
  'unloading' | 'shipping' | 'consigning' | 'inspecting' | 'holding' | 'transporting' | 'storing' | 'other'
export type Disposition = 'active' | 'in_progress' | 'in_transit' | 'conformant' | 'unavailable' | 'available' | 'returned' |
  'damaged' | 'unknown' | 'completeness_verified'

export interface MilestoneDefinition {
  label: string
  publicVisible: boolean
  tag: TrackingTag
  subtag: string
  bizStep: BizStep
  disposition: Disposition
  /** An exception is something wrong that someone must act on. */
  exception: boolean
  /** The journey ends here: no stall or loss is raised after it. */
  final: boolean
}

function step (label: string, publicVisible: boolean, subtag: string, bizStep: BizStep, disposition: Disposition): MilestoneDefinition {
  return { label, publicVisible, tag: tagOf(subtag), subtag, bizStep, disposition, exception: subtag.startsWith('Exception'), final: false }
}

function tagOf (subtag: string): TrackingTag {
  return subtag.slice(0, subtag.indexOf('_')) as TrackingTag
}

function final (definition: MilestoneDefinition): MilestoneDefinition {
  return { ...definition, final: true }
}

export const MILESTONES = {
  info_received: step('Shipment information received', true, 'InfoReceived_001', 'commissioning', 'active'),
  picked_up: step('Picked up from the sender', true, 'InTransit_002', 'accepting', 'in_progress'),
  received_at_origin: step('Received at origin facility', true, 'InTransit_002', 'receiving', 'in_progress'),
  arrived_at_facility: step('Arrived at facility', true, 'InTransit_003', 'arriving', 'in_progress'),
  sorted: step('Sorted', false, 'InTransit_001', 'staging_outbound', 'in_progress'),
  departed_facility: step('Departed facility', true, 'InTransit_007', 'departing', 'in_transit'),
  loaded: step('Loaded onto vehicle', false, 'InTransit_001', 'loading', 'in_transit'),
  unloaded: step('Unloaded from vehicle', false, 'InTransit_001', 'unloading', 'in_progress'),
  handed_to_linehaul: step('Handed to linehaul carrier', true, 'InTransit_001', 'shipping', 'in_transit'),
  handed_to_airline: step('Handed to airline', true, 'InTransit_001', 'shipping', 'in_transit'),
  arrived_in_destination_country: step('Arrived in destination country', true, 'InTransit_004', 'arriving', 'in_progress'),
  customs_entered: step('Customs clearance started', true, 'InTransit_006', 'inspecting', 'in_progress'),
  customs_held: step('Held by customs', true, 'Exception_004', 'holding', 'unavailable'),
  customs_delayed: step('Customs clearance delayed', true, 'Exception_004', 'holding', 'in_progress'),
  customs_cleared: step('Cleared customs', true, 'InTransit_005', 'inspecting', 'conformant'),
  handed_to_last_mile: step('Handed to local delivery partner', true, 'InTransit_001', 'consigning', 'in_transit'),
  out_for_delivery: step('Out for delivery', true, 'OutForDelivery_001', 'transporting', 'in_transit'),
  delivery_attempted: step('Delivery attempted', true, 'AttemptFail_001', 'transporting', 'in_transit'),
  delivered: final(step('Delivered', true, 'Delivered_001', 'accepting', 'completeness_verified')),
  cod_collected: step('Cash on delivery paid', true, 'Delivered_004', 'accepting', 'completeness_verified'),
  available_for_pickup: step('Ready for pickup', true, 'AvailableForPickup_001', 'storing', 'available'),
  returning_to_sender: step('Returning to sender', true, 'Exception_010', 'shipping', 'returned'),
  returned_to_sender: final(step('Returned to sender', true, 'Exception_011', 'receiving', 'returned')),
  stalled: step('Stalled', false, 'Exception_005', 'other', 'unknown'),
  suspected_lost: step('Suspected lost', false, 'Exception_013', 'other', 'unknown'),
  damaged: step('Damaged', false, 'Exception_012', 'inspecting', 'damaged'),
  refused_by_buyer: step('Refused by the buyer', true, 'Exception_003', 'other', 'in_progress'),
  address_problem: step('Problem with the delivery address', true, 'Exception_007', 'other', 'in_progress')
} as const satisfies Record<string, MilestoneDefinition>

export type MilestoneCode = keyof typeof MILESTONES
export const MILESTONE_CODES = Object.keys(MILESTONES) as MilestoneCode[]

export function isMilestoneCode (code: string): code is MilestoneCode {
  return Object.hasOwn(MILESTONES, code)
}

/** The milestones an RFID reader at a station can stand for. */
export const SCAN_MILESTONES = ['received_at_origin', 'arrived_at_facility', 'sorted', 'loaded', 'unloaded', 'departed_facility', 'available_for_pickup'] as const satisfies readonly MilestoneCode[]
export type ScanMilestoneCode = typeof SCAN_MILESTONES[number]

/** Why a delivery attempt failed: what the driver app offers, with the sub-tag it maps to. */
export const ATTEMPT_REASONS: Record<AttemptReason, { label: string, subtag: string }> = {
  recipient_not_available: { label: 'Nobody was available to receive it', subtag: 'AttemptFail_002' },
  business_closed: { label: 'The business was closed', subtag: 'AttemptFail_003' },
  no_access: { label: 'The driver could not reach the door', subtag: 'AttemptFail_001' },
  cod_not_ready: { label: 'The cash on delivery amount was not ready', subtag: 'AttemptFail_001' },
  rescheduled_by_recipient: { label: 'The buyer asked for another day', subtag: 'AttemptFail_001' },
  other: { label: 'Delivery could not be completed', subtag: 'AttemptFail_001' }
}

/** Facts a milestone may carry beyond its code: what the driver recorded. */
export interface MilestoneDetail {
  reason?: AttemptReason
  /** A reference to a photo or signature held elsewhere (an object-store key or URL). */
  proof?: { kind: 'photo' | 'signature' | 'pin', ref: string }
  /** The cash collected; `method` says how it was paid at the door (cash when absent). */
  cod?: { amount: string, currency: string, method?: 'cash' | 'card' | 'qr' }
  recipient?: string
}

/** The sub-tag of one recorded milestone: a reason or the cash collected can make it more precise. */
export function subtagOf (code: MilestoneCode, detail: MilestoneDetail | null): string {
  if (code === 'delivery_attempted' && detail?.reason !== undefined) return ATTEMPT_REASONS[detail.reason].subtag
  if (code === 'delivered' && detail?.cod !== undefined) return 'Delivered_004'
  if (code === 'delivered' && detail?.proof?.kind === 'signature') return 'Delivered_003'
  return MILESTONES[code].subtag
}
