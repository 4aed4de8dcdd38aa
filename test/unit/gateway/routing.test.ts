import { describe, expect, it } from 'vitest'
import { routeOf, senderOf, type RoutableDevice, type Route } from '../../../gateway/routing.js'

const devices: RoutableDevice[] = [
  { id: 'van-1', kind: 'tracker', format: 'trackstream', scope: null },
  { id: 'phone-1', kind: 'tracker', format: 'owntracks', scope: null },
  { id: 'tts', kind: 'network_server', format: 'ttn', scope: 'fleet@ttn' },
  { id: 'cs', kind: 'network_server', format: 'chirpstack', scope: 'app-7' }
]
const directory = {
  device: (id: string) => devices.find((d) => d.id === id),
  networkServer: (format: 'ttn' | 'chirpstack', application: string) => devices.find((d) => d.kind === 'network_server' && d.format === format && d.scope === application)
}
const sender = (topic: string): ReturnType<typeof senderOf> => senderOf(routeOf(topic) as Route, directory)

describe('the sender of a message that came through an external broker', () => {
  it('is the device the topic names, or the network server of the application', () => {
    expect(sender('ts/v1/van-1/fix')).toEqual({ device: devices[0] })
    expect(sender('owntracks/phone-1/iphone')).toEqual({ device: devices[1] })
    expect(sender('v3/fleet@ttn/devices/eui-1/up')).toEqual({ device: devices[2] })
    expect(sender('application/app-7/device/0004a30b001c0530/event/up')).toEqual({ device: devices[3] })
  })

  it('is refused when nobody is registered for the topic, or the device may not publish there', () => {
    expect(sender('ts/v1/ghost/fix')).toEqual({ refused: 'unknown_device', deviceId: 'ghost' })
    expect(sender('v3/other@ttn/devices/eui-1/up')).toEqual({ refused: 'unknown_device', deviceId: 'other@ttn' })
    // a trackstream-format tracker does not speak OwnTracks, and a network server has no ts/v1 tree
    expect(sender('owntracks/van-1/phone')).toEqual({ refused: 'topic_not_allowed', deviceId: 'van-1' })
    expect(sender('ts/v1/tts/fix')).toEqual({ refused: 'topic_not_allowed', deviceId: 'tts' })
  })
})
