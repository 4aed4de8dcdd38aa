/**
 * MQTT topic grammar, version 1:
 *   ts/v1/<deviceId>/fix    GPS fixes from a tracker
 *   ts/v1/<deviceId>/scan   RFID tag scans from a reader
 *   ts/v1/<deviceId>/driver what a driver records at the door (delivered, attempt failed, COD collected)
 * A device may publish only under its own ts/v1/<deviceId>/ prefix.
 */
export const TOPIC_ROOT = 'ts/v1'

export type Channel = 'fix' | 'scan' | 'driver'
const CHANNELS: readonly string[] = ['fix', 'scan', 'driver'] satisfies Channel[]

/** Device ids appear inside topics, so they may not contain MQTT wildcards or separators. */
export const DEVICE_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$'
const deviceIdRegex = new RegExp(DEVICE_ID_PATTERN)

export function isValidDeviceId (id: string): boolean {
  return deviceIdRegex.test(id)
}

export function deviceTopic (deviceId: string, channel: Channel): string {
  return `${TOPIC_ROOT}/${deviceId}/${channel}`
}

export function devicePrefix (deviceId: string): string {
  return `${TOPIC_ROOT}/${deviceId}/`
}

export type ParsedTopic =
  | { deviceId: string, channel: Channel }
  | { deviceId: string, channel: null, rest: string }

/** Returns null for topics outside the ts/v1/<deviceId>/ tree. */
export function parseTopic (topic: string): ParsedTopic | null {
  if (!topic.startsWith(TOPIC_ROOT + '/')) return null
  const tail = topic.slice(TOPIC_ROOT.length + 1)
  const slash = tail.indexOf('/')
  if (slash <= 0) return null
  const deviceId = tail.slice(0, slash)
  const rest = tail.slice(slash + 1)
  if (!isValidDeviceId(deviceId)) return null
  return CHANNELS.includes(rest)
    ? { deviceId, channel: rest as Channel }
    : { deviceId, channel: null, rest }
}
