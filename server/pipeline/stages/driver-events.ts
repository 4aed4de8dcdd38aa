import type { Engine } from '../../engine/engine.js'
import { DUPLICATE, type DriverItem, type Stage } from '../items.js'

/** The app resends an event it has no answer for; the same event (type, parcel, time) counts once. */
export function dedupeDriverEvents (engine: Engine): Stage<DriverItem> {
  return {
    name: 'dedupe-driver-events',
    run: ({ event }) => engine.seenDriverEvent(event) ? DUPLICATE : undefined
  }
}

/** A driver's record at the door becomes the parcel's milestone (engine/drivers.ts), or is refused with why. */
export function driverMilestones (engine: Engine): Stage<DriverItem> {
  return {
    name: 'driver-milestones',
    run: (item) => {
      const effects = engine.driverEffects(item.event)
      if ('reason' in effects) return effects
      item.milestones = effects.milestones
      item.custody = effects.custody
      return undefined
    }
  }
}
