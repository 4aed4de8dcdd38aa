import { describe, expect, it } from 'vitest'
import { GLIDE_MS, MAX_GLIDE_GAP_MS, glideAt, glideDone, planGlide } from '../../dashboard/src/glide.js'

describe('a marker gliding between fixes', () => {
  it('moves linearly from where it is drawn to the new fix, and stops there', () => {
    const glide = planGlide([100, 13], [101, 14], 5_000, 1_000)
    expect(glide.duration).toBe(GLIDE_MS)
    expect(glideAt(glide, 1_000)).toEqual([100, 13])
    const half = glideAt(glide, 1_000 + GLIDE_MS / 2)
    expect(half[0]).toBeCloseTo(100.5, 9)
    expect(half[1]).toBeCloseTo(13.5, 9)
    expect(glideDone(glide, 1_000 + GLIDE_MS - 1)).toBe(false)
    expect(glideAt(glide, 1_000 + GLIDE_MS)).toEqual([101, 14])
    expect(glideDone(glide, 1_000 + GLIDE_MS)).toBe(true)
    expect(glideAt(glide, 1_000_000)).toEqual([101, 14])
  })

  it('never takes longer than the time between the fixes, so a fast feed does not lag behind', () => {
    expect(planGlide([0, 0], [0, 1], 200, 0).duration).toBe(200)
  })

  it('jumps for the first fix, after a long silence, and for a fix older than the last', () => {
    for (const glide of [
      planGlide(undefined, [1, 1], 1_000, 0),
      planGlide([0, 0], [1, 1], MAX_GLIDE_GAP_MS + 1, 0),
      planGlide([0, 0], [1, 1], 0, 0)
    ]) {
      expect(glide.duration).toBe(0)
      expect(glideAt(glide, 0)).toEqual([1, 1])
    }
  })

  it('crosses the antimeridian the short way', () => {
    const glide = planGlide([179.8, -17], [-179.8, -17], 1_000, 0)
    const [lon] = glideAt(glide, GLIDE_MS / 2)
    expect(Math.abs(lon)).toBeGreaterThan(179.9)
    expect(glideAt(glide, GLIDE_MS / 4)[0]).toBeCloseTo(179.9, 9)
    expect(glideAt(glide, (3 * GLIDE_MS) / 4)[0]).toBeCloseTo(-179.9, 9)
  })
})
