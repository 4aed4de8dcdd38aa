import { describe, expect, it } from 'vitest'
import { ATTEMPT_REASON_CODES } from '../../proto/types.js'
import { ATTEMPT_REASONS, MILESTONE_CODES, MILESTONES, subtagOf } from '../../server/tracking/milestones.js'

// AfterShip's published tags and the sub-tags they define (docs: Delivery Sub-statuses)
const SUBTAGS: Record<string, number> = { InfoReceived: 1, InTransit: 9, OutForDelivery: 4, AttemptFail: 3, Delivered: 5, AvailableForPickup: 1, Exception: 13 }

describe('the milestone vocabulary', () => {
  it('covers a cross-border COD journey end to end, with exceptions', () => {
    for (const code of ['info_received', 'picked_up', 'arrived_at_facility', 'sorted', 'departed_facility', 'loaded', 'unloaded',
      'handed_to_linehaul', 'handed_to_airline', 'arrived_in_destination_country', 'customs_held', 'customs_cleared', 'customs_delayed',
      'handed_to_last_mile', 'out_for_delivery', 'delivery_attempted', 'delivered', 'available_for_pickup', 'returned_to_sender',
      'stalled', 'suspected_lost', 'damaged', 'refused_by_buyer', 'address_problem']) {
      expect(MILESTONE_CODES).toContain(code)
    }
  })

  it('maps every code to an existing tag and sub-tag, and marks exactly the Exception ones as exceptions', () => {
    for (const code of MILESTONE_CODES) {
      const { tag, subtag, exception } = MILESTONES[code]
      const match = /^([A-Za-z]+)_(\d{3})$/.exec(subtag)
      expect(match?.[1], code).toBe(tag)
      expect(Number(match?.[2]), code).toBeGreaterThanOrEqual(1)
      expect(Number(match?.[2]), code).toBeLessThanOrEqual(SUBTAGS[tag] ?? 0)
      expect(exception, code).toBe(tag === 'Exception')
    }
  })

  it('keeps internal handling and the ops desk\'s suspicions off the buyer\'s page', () => {
    const hidden = MILESTONE_CODES.filter((code) => !MILESTONES[code].publicVisible)
    expect(hidden.sort()).toEqual(['damaged', 'loaded', 'sorted', 'stalled', 'suspected_lost', 'unloaded'])
  })

  it('makes the sub-tag more precise from what the driver recorded', () => {
    expect(subtagOf('delivered', null)).toBe('Delivered_001')
    expect(subtagOf('delivered', { proof: { kind: 'signature', ref: 'sig/1.png' } })).toBe('Delivered_003')
    expect(subtagOf('delivered', { cod: { amount: '25.00', currency: 'THB' }, proof: { kind: 'signature', ref: 'x' } })).toBe('Delivered_004')
    expect(subtagOf('delivery_attempted', { reason: 'recipient_not_available' })).toBe('AttemptFail_002')
    expect(subtagOf('delivery_attempted', { reason: 'business_closed' })).toBe('AttemptFail_003')
    expect(subtagOf('delivery_attempted', { reason: 'cod_not_ready' })).toBe('AttemptFail_001')
  })

  it('explains every attempt reason the driver app can send', () => {
    expect(Object.keys(ATTEMPT_REASONS).sort()).toEqual([...ATTEMPT_REASON_CODES].sort())
  })
})
