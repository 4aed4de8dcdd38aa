import { parseTopic, TOPIC_ROOT, type Channel } from '../proto/topics.js'
import type { DeviceFormat } from './decoders/format.js'

/** What the gateway needs to know of a device to route and authorise its messages. */
export interface RoutableDevice {
  id: string
  kind: 'tracker' | 'reader' | 'network_server'
  format: DeviceFormat
  scope: string | null
}

/**
 * The topic trees devices publish in, each fixed by the software on the device:
 *   ts/v1/<deviceId>/<fix|scan|driver>                  trackstream's own, for any format
 *   owntracks/<user>/<device>[/<sub>]                    the OwnTracks app; <user> is the MQTT username
 *   v3/<app>[@<tenant>]/devices/<device>/<message>        The Things Stack
 *   application/<appId>/device/<devEui>/event/<event>    ChirpStack v4
 */
export type Route =
  | { tree: 'trackstream', deviceId: string, channel: Channel | null, rest: string }
  | { tree: 'owntracks', user: string, device: string }
  | { tree: 'ttn', application: string, device: string, message: string }
  | { tree: 'chirpstack', application: string, devEui: string, event: string }

export function routeOf (topic: string): Route | null {
  const parsed = parseTopic(topic)
  if (parsed !== null) {
    return parsed.channel === null
      ? { tree: 'trackstream', deviceId: parsed.deviceId, channel: null, rest: parsed.rest }
      : { tree: 'trackstream', deviceId: parsed.deviceId, channel: parsed.channel, rest: parsed.channel }
  }
  const levels = topic.split('/')
  const [root, a, b, c, d, e] = levels
  if (root === 'owntracks' && a !== undefined && b !== undefined && a !== '' && b !== '' && levels.length <= 4) {
    return { tree: 'owntracks', user: a, device: b }
  }
  if (root === 'v3' && b === 'devices' && a !== undefined && c !== undefined && d !== undefined && levels.length === 5) {
    return { tree: 'ttn', application: a, device: c, message: d }
  }
  if (root === 'application' && b === 'device' && d === 'event' && a !== undefined && c !== undefined && e !== undefined && levels.length === 6) {
    return { tree: 'chirpstack', application: a, devEui: c, event: e }
  }
  return null
}

/** A device publishes only in its own tree: the one that names it, or, for a network server, its application's. */
export function mayPublish (device: RoutableDevice, route: Route): boolean {
  switch (route.tree) {
    case 'trackstream':
      return route.deviceId === device.id && device.kind !== 'network_server'
    case 'owntracks':
      return route.user === device.id && device.format === 'owntracks'
    case 'ttn':
    case 'chirpstack':
      return device.kind === 'network_server' && device.format === route.tree && device.scope === route.application
  }
}

/** The topic prefixes a device may subscribe under: its own, and nobody else's. */
export function ownPrefixes (device: RoutableDevice): string[] {
  if (device.kind === 'network_server' && device.scope !== null) {
    return device.format === 'ttn' ? [`v3/${device.scope}/`] : [`application/${device.scope}/`]
  }
  const own = [`${TOPIC_ROOT}/${device.id}/`]
  if (device.format === 'owntracks') own.push(`owntracks/${device.id}/`)
  return own
}

export function maySubscribe (device: RoutableDevice, filter: string): boolean {
  return ownPrefixes(device).some((prefix) => filter.startsWith(prefix))
}

/** Who may have sent a message on this route, where the broker, not trackstream, checked the login. */
export interface DeviceDirectory<D extends RoutableDevice> {
  device: (id: string) => D | undefined
  networkServer: (format: 'ttn' | 'chirpstack', application: string) => D | undefined
}

/**
 * The registered device a message on this route is from, for messages that came through an
 * external broker: the device id in the topic, or the network server of the application. The
 * device must also be one that may publish there, as on the embedded broker.
 */
export function senderOf<D extends RoutableDevice> (route: Route, directory: DeviceDirectory<D>):
{ device: D } | { refused: 'unknown_device' | 'topic_not_allowed', deviceId: string } {
  const [deviceId, device] = route.tree === 'trackstream'
    ? [route.deviceId, directory.device(route.deviceId)]
    : route.tree === 'owntracks'
      ? [route.user, directory.device(route.user)]
      : [route.application, directory.networkServer(route.tree, route.application)]
  if (device === undefined) return { refused: 'unknown_device', deviceId }
  return mayPublish(device, route) ? { device } : { refused: 'topic_not_allowed', deviceId }
}
