import { describe, expect, it } from 'vitest'
import { milestoneLabel, pickLanguage } from '../../dashboard/src/i18n.js'
import { MILESTONE_CODES, MILESTONES } from '../../server/tracking/milestones.js'

describe('the buyer page\'s language', () => {
  it('takes the first of the browser\'s languages it speaks, a saved choice first, English otherwise', () => {
    expect(pickLanguage(['th-TH', 'en-US'], null)).toBe('th')
    expect(pickLanguage(['de-DE', 'zh-Hans-CN'], null)).toBe('zh')
    expect(pickLanguage(['de-DE', 'fr'], null)).toBe('en')
    expect(pickLanguage(['th-TH'], 'zh')).toBe('zh')
    expect(pickLanguage(['th-TH'], 'xx')).toBe('th')
  })

  it('has Chinese and Thai words for every milestone a buyer can see', () => {
    for (const code of MILESTONE_CODES.filter((c) => MILESTONES[c].publicVisible)) {
      for (const language of ['zh', 'th'] as const) {
        expect(milestoneLabel(language, code, 'ENGLISH'), `${language} ${code}`).not.toBe('ENGLISH')
      }
      expect(milestoneLabel('en', code, MILESTONES[code].label)).toBe(MILESTONES[code].label)
    }
  })
})
