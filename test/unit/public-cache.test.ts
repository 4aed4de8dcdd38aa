import { describe, expect, it } from 'vitest'
import { PublicViewCache } from '../../server/tracking/public-cache.js'

describe('PublicViewCache', () => {
  it('reads once, then serves the cached view until the parcel gets a milestone', async () => {
    const cache = new PublicViewCache()
    let reads = 0
    const load = async (): Promise<string> => `view ${++reads}`
    expect(await cache.get('p1', load)).toBe('view 1')
    expect(await cache.get('p1', load)).toBe('view 1')
    cache.forget('p1')
    expect(await cache.get('p1', load)).toBe('view 2')
    expect(reads).toBe(2)
  })

  it('does not keep a view read while a milestone of the parcel committed', async () => {
    const cache = new PublicViewCache()
    let release!: () => void
    const slow = cache.get('p1', async () => { await new Promise<void>((resolve) => { release = resolve }); return 'before the milestone' })
    await new Promise((resolve) => setImmediate(resolve))
    cache.forget('p1')
    release()
    expect(await slow).toBe('before the milestone')
    expect(await cache.get('p1', async () => 'after the milestone')).toBe('after the milestone')
  })

  it('forgets the least recently used view beyond its capacity', async () => {
    const cache = new PublicViewCache(2)
    await cache.get('a', async () => 'A')
    await cache.get('b', async () => 'B')
    await cache.get('a', async () => 'A again')
    await cache.get('c', async () => 'C')
    expect(await cache.get('a', async () => 'reloaded')).toBe('A')
    expect(await cache.get('b', async () => 'reloaded')).toBe('reloaded')
  })
})
