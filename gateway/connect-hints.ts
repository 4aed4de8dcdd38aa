import { deviceTopic } from '../proto/topics.js'
import type { DeviceFormat } from './decoders/format.js'

export interface ConnectHints {
  /** Where the device publishes over MQTT (username: its id, password: its secret). */
  mqttTopics: string[]
  /** Where it posts over HTTP instead, if it can. */
  httpPath: string | null
  note: string
}

/** What to type into the device's settings: the most common reason a new tracker shows nothing is a wrong topic. */
export function connectHints (device: { id: string, format: DeviceFormat, scope: string | null }): ConnectHints {
  const id = encodeURIComponent(device.id)
  switch (device.format) {
    case 'trackstream':
      return { mqttTopics: [deviceTopic(device.id, 'fix'), deviceTopic(device.id, 'scan')], httpPath: '/api/ingest/fix or /api/ingest/scan', note: 'JSON or protobuf, see proto/CONTRACT.md' }
    case 'owntracks':
      return { mqttTopics: [`owntracks/${device.id}/<any device name>`], httpPath: '/owntracks', note: 'OwnTracks app: username = this id, password = the secret; HTTP mode uses the same as Basic auth' }
    case 'osmand':
      return { mqttTopics: [], httpPath: `/osmand?id=${id}`, note: 'Traccar Client / OsmAnd: server URL http(s)://<host>:<HTTP_PORT>/osmand, device identifier = this id' }
    case 'nmea':
      return { mqttTopics: [deviceTopic(device.id, 'fix')], httpPath: '/api/ingest/fix', note: 'NMEA 0183 sentences (RMC, GGA), one or more per message' }
    case 'impinj':
      return { mqttTopics: [deviceTopic(device.id, 'scan')], httpPath: '/api/ingest/scan', note: 'Impinj IoT device interface: set the MQTT eventTopic (or webhook URL) to this' }
    case 'zebra':
      return { mqttTopics: [deviceTopic(device.id, 'scan')], httpPath: '/api/ingest/scan', note: 'Zebra IoT Connector: data endpoint topic (or HTTP POST URL) = this' }
    case 'ttn':
      return { mqttTopics: [`v3/${device.scope ?? '<app>@<tenant>'}/devices/<device id>/up`], httpPath: '/integrations/ttn', note: 'The Things Stack webhook (Basic auth: this id and secret), trackers registered by DevEUI' }
    case 'chirpstack':
      return { mqttTopics: [`application/${device.scope ?? '<application id>'}/device/<devEui>/event/up`], httpPath: '/integrations/chirpstack', note: 'ChirpStack MQTT or HTTP integration (JSON marshaler), trackers registered by DevEUI' }
  }
}
