import { describe, expect, it } from 'vitest'
import { LANGUAGES, milestoneLabel, pickLanguage, strings, type Language } from '../../dashboard/src/i18n.js'
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

  it('has every sentence of the page in every language, each its own and each using what it is given', () => {
    const english = strings('en')
    for (const language of Object.keys(LANGUAGES) as Language[]) {
      const table = strings(language)
      expect(Object.keys(table).sort(), language).toEqual(Object.keys(english).sort())
      for (const [key, value] of Object.entries(table) as Array<[string, string | ((arg: string) => string)]>) {
        const text = typeof value === 'function' ? value('«ARG»') : value
        expect(text.trim(), `${language}.${key}`).not.toBe('')
        if (typeof value === 'function') expect(text, `${language}.${key}`).toContain('«ARG»')
        // an untranslated sentence is the English one
        if (language !== 'en') {
          const englishValue = english[key as keyof typeof english]
          expect(text, `${language}.${key}`).not.toBe(typeof englishValue === 'function' ? englishValue('«ARG»') : englishValue)
        }
      }
    }
    // the map's words, which the buyer sees only on the day of delivery
    expect(strings('th').deliveredHere).toBe('จัดส่งที่นี่')
    expect(strings('zh').onTheVan).toBe('您的包裹已在派送车上')
  })
})
