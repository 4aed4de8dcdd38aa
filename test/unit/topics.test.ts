import { describe, expect, it } from 'vitest'
import { deviceTopic, isValidDeviceId, parseTopic } from '../../proto/topics.js'

describe('parseTopic', () => {
  it('parses a fix topic into its device id and channel', () => {
    expect(parseTopic('ts/v1/van-1/fix')).toEqual({ deviceId: 'van-1', channel: 'fix' })
  })

  it('parses a scan topic into its device id and channel', () => {
    expect(parseTopic('ts/v1/dock.1:a_b/scan')).toEqual({ deviceId: 'dock.1:a_b', channel: 'scan' })
  })

  it('returns channel null with the rest of the topic for an unknown channel', () => {
    expect(parseTopic('ts/v1/van-1/status')).toEqual({ deviceId: 'van-1', channel: null, rest: 'status' })
  })

  it('treats extra levels after the channel as an unknown channel, keeping them all in rest', () => {
    expect(parseTopic('ts/v1/dev/fix/extra')).toEqual({ deviceId: 'dev', channel: null, rest: 'fix/extra' })
  })

  it('gives an empty rest when the topic ends right after the device id and its slash', () => {
    expect(parseTopic('ts/v1/dev/')).toEqual({ deviceId: 'dev', channel: null, rest: '' })
  })

  it('is case-sensitive about the channel name', () => {
    expect(parseTopic('ts/v1/dev/FIX')).toEqual({ deviceId: 'dev', channel: null, rest: 'FIX' })
  })

  it.each([
    ['another version', 'ts/v2/van-1/fix'],
    ['another root', 'xx/v1/van-1/fix'],
    ['a root that only starts like ts/v1', 'ts/v10/van-1/fix'],
    ['a leading slash', '/ts/v1/van-1/fix'],
    ['the bare root', 'ts/v1'],
    ['the root and a slash', 'ts/v1/'],
    ['an empty topic', '']
  ])('returns null for a topic with %s (%j)', (_what, topic) => {
    expect(parseTopic(topic)).toBeNull()
  })

  it.each([
    ['no device and no channel', 'ts/v1/van-1'],
    ['an empty device id', 'ts/v1//fix']
  ])('returns null for a topic with %s (%j)', (_what, topic) => {
    expect(parseTopic(topic)).toBeNull()
  })

  it.each([
    ['a + wildcard', 'ts/v1/van+1/fix'],
    ['a # wildcard', 'ts/v1/van#/fix'],
    ['a lone + wildcard', 'ts/v1/+/fix'],
    ['a 65-character id', `ts/v1/${'a'.repeat(65)}/fix`],
    ['an id starting with a dot', 'ts/v1/.van/fix'],
    ['a space', 'ts/v1/van 1/fix']
  ])('returns null for a device id with %s', (_what, topic) => {
    expect(parseTopic(topic)).toBeNull()
  })

  it('accepts a 64-character device id, the longest allowed', () => {
    const id = 'a'.repeat(64)
    expect(parseTopic(`ts/v1/${id}/fix`)).toEqual({ deviceId: id, channel: 'fix' })
  })
})

describe('deviceTopic', () => {
  it('builds the fix and scan topics of a device', () => {
    expect(deviceTopic('van-1', 'fix')).toBe('ts/v1/van-1/fix')
    expect(deviceTopic('dock-1', 'scan')).toBe('ts/v1/dock-1/scan')
  })

  it('builds topics that parseTopic reads back', () => {
    expect(parseTopic(deviceTopic('van-1', 'fix'))).toEqual({ deviceId: 'van-1', channel: 'fix' })
    expect(parseTopic(deviceTopic('dock-1', 'scan'))).toEqual({ deviceId: 'dock-1', channel: 'scan' })
  })
})

describe('isValidDeviceId', () => {
  it.each(['a', 'van-1', 'A9', 'reader.dock_3:ant-2', '0', 'a'.repeat(64)])('accepts %j', (id) => {
    expect(isValidDeviceId(id)).toBe(true)
  })

  it.each([
    ['empty', ''],
    ['a + wildcard', 'van+1'],
    ['a # wildcard', 'van#1'],
    ['a topic separator', 'van/1'],
    ['65 characters', 'a'.repeat(65)],
    ['a leading dash', '-van'],
    ['a leading underscore', '_van'],
    ['a trailing newline', 'van\n'],
    ['a non-ASCII letter', 'vän']
  ])('rejects an id with %s', (_what, id) => {
    expect(isValidDeviceId(id)).toBe(false)
  })
})
