import { DEVICE_ID_PATTERN } from '../../proto/topics.js'
import { MILESTONE_CODES, SCAN_MILESTONES } from '../tracking/milestones.js'

/** Ids people choose (stations, vehicles) share the device id grammar: safe in topics, URLs and logs. */
export const idSchema = { type: 'string', pattern: DEVICE_ID_PATTERN } as const
export const dateTime = { type: 'string', format: 'date-time' } as const
export const nullableString = { type: ['string', 'null'] } as const
export const nullableNumber = { type: ['number', 'null'] } as const
export const milestoneCode = { type: 'string', enum: MILESTONE_CODES } as const
export const scanMilestoneCode = { type: 'string', enum: SCAN_MILESTONES } as const
export const latSchema = { type: 'number', minimum: -90, maximum: 90 } as const
export const lonSchema = { type: 'number', minimum: -180, maximum: 180 } as const
export const countrySchema = { type: 'string', pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2' } as const

export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 128 } }
} as const

export const listOf = <T extends object>(items: T) => ({
  type: 'object',
  properties: { items: { type: 'array', items } }
}) as const

const none: readonly string[] = []
/** Spread into a route schema: the route needs the API key, as bearer token or session cookie. */
export const ops: { security: Array<Record<string, readonly string[]>> } = { security: [{ apiKey: none }, { session: none }] }
