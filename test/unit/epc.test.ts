import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { decodeEpc, type Gs1Identity } from '../../gateway/epc.js'

interface Vector {
  name?: string
  scheme?: string
  uri: string
  tag_uri?: string
  hex?: string
  gs1_key?: string
}

function vectors (name: string): Vector[] {
  const file = JSON.parse(readFileSync(new URL(`../fixtures/epc/${name}`, import.meta.url), 'utf8')) as { vectors: Vector[] }
  return file.vectors
}

const ALL = [...vectors('epc-vectors-nedap-epcpy.json'), ...vectors('epc-tag-encodable-nedap-epcpy.json')]
const ENCODED = ALL.filter((v): v is Vector & { hex: string, tag_uri: string } => v.hex !== undefined && v.tag_uri !== undefined)
const GS1_96 = ENCODED.filter((v) => /^urn:epc:tag:(sgtin|sscc)-96:/.test(v.tag_uri))
const OTHERS = ENCODED.filter((v) => !GS1_96.includes(v))

/** The GTIN-14 or SSCC-18 of a decoded identity. */
function key (identity: Gs1Identity): string {
  return identity.scheme === 'sgtin-96' ? identity.gtin : identity.sscc
}

describe('decodeEpc against the Nedap epcpy vectors', () => {
  it('has every SGTIN-96 and SSCC-96 vector of both files to test', () => {
    expect(GS1_96.map((v) => v.tag_uri)).toEqual([
      'urn:epc:tag:sscc-96:0.061414123456.12345',
      'urn:epc:tag:sgtin-96:6.50712192365.88.0',
      'urn:epc:tag:sscc-96:2.0614141.1234567890',
      'urn:epc:tag:sscc-96:2.061414.12345678901',
      'urn:epc:tag:sscc-96:0.061414123456.12345',
      'urn:epc:tag:sscc-96:5.061414123456.00000'
    ])
    expect(OTHERS).toHaveLength(ENCODED.length - 6)
  })

  it.each(GS1_96.map((v) => [v.tag_uri, v] as const))('decodes %s to its tag URI, pure identity URI and GS1 key', (_uri, vector) => {
    const identity = decodeEpc(vector.hex)
    expect(identity).not.toBeNull()
    if (identity === null) return
    expect(identity.tagUri).toBe(vector.tag_uri)
    expect(identity.pureIdentityUri).toBe(vector.uri)
    expect(identity.filter).toBe(Number(vector.tag_uri.split(':')[4]?.split('.')[0]))
    // the SGTIN-96 vector has no key of its own; the same item's SGTIN-198 vector gives it
    expect(key(identity)).toBe(vector.gs1_key ?? '85071219236581')
  })

  it.each(OTHERS.map((v) => [v.tag_uri, v.hex] as const))('returns null for %s without throwing', (_uri, hex) => {
    expect(decodeEpc(hex)).toBeNull()
  })

  it('decodes the SGTIN-96 vector to every field', () => {
    expect(decodeEpc('30C579D5D4ADB60000000000')).toEqual({
      scheme: 'sgtin-96',
      tagUri: 'urn:epc:tag:sgtin-96:6.50712192365.88.0',
      pureIdentityUri: 'urn:epc:id:sgtin:50712192365.88.0',
      filter: 6,
      companyPrefix: '50712192365',
      itemReference: '88',
      gtin: '85071219236581',
      serial: '0'
    })
  })

  it('decodes an SSCC-96 vector to every field, keeping the zeros of its serial reference', () => {
    expect(decodeEpc('31A03932449F000000000000')).toEqual({
      scheme: 'sscc-96',
      tagUri: 'urn:epc:tag:sscc-96:5.061414123456.00000',
      pureIdentityUri: 'urn:epc:id:sscc:061414123456.00000',
      filter: 5,
      companyPrefix: '061414123456',
      serialReference: '00000',
      sscc: '006141412345600001'
    })
  })
})

describe('decodeEpc, other cases', () => {
  // the worked example of the GS1 EPC Tag Data Standard (SGTIN-96, partition 5)
  it('decodes the Tag Data Standard example, lower-case hex included', () => {
    const expected = {
      scheme: 'sgtin-96',
      tagUri: 'urn:epc:tag:sgtin-96:3.0614141.812345.6789',
      pureIdentityUri: 'urn:epc:id:sgtin:0614141.812345.6789',
      filter: 3,
      companyPrefix: '0614141',
      itemReference: '812345',
      gtin: '80614141123458',
      serial: '6789'
    }
    expect(decodeEpc('3074257BF7194E4000001A85')).toEqual(expected)
    expect(decodeEpc('3074257bf7194e4000001a85')).toEqual(expected)
  })

  it('decodes the largest SGTIN-96 serial, 2^38 - 1', () => {
    expect(decodeEpc(encode(0x30, 1, 5, 614141n, 12345n, 2n ** 38n - 1n, 20, 38))?.tagUri).toBe('urn:epc:tag:sgtin-96:1.0614141.012345.274877906943')
  })

  it.each([
    ['a chip-serialised E2 EPC', 'E2801190A5021F80055817CA'],
    ['SGTIN-198', '36500001DB011169E5E5A70EC000000000000000000000000000'],
    ['GID-96', '35FFFFFFFFFFFFFFFFFFFFFF'],
    ['an SGTIN-96 header on 128 bits', '3074257BF7194E4000001A8500000000'],
    ['a truncated SGTIN-96', '3074257BF7194E4000001A'],
    ['partition 7', '301C00000000000000000000'],
    ['a company prefix of more than 12 digits (partition 0)', encode(0x30, 0, 0, 2n ** 40n - 1n, 0n, 0n, 4, 38)],
    ['an item reference of more than 1 digit (partition 0)', encode(0x30, 0, 0, 614141n, 10n, 0n, 4, 38)],
    ['an SSCC serial reference of more than 11 digits (partition 6)', encode(0x31, 0, 6, 614141n, 2n ** 38n - 1n, 0n, 38, 24)],
    ['non-hex characters', '3074257BF7194E4000001A8G'],
    ['an empty string', ''],
    ['hex with spaces', '3074 257B F719 4E40 0000 1A85']
  ])('returns null for %s', (_name, hex) => {
    expect(decodeEpc(hex)).toBeNull()
  })

  it('returns null for values that are not strings at all', () => {
    for (const value of [undefined, null, 42, {}, ['30']]) expect(decodeEpc(value as unknown as string)).toBeNull()
  })

  it('never throws on random 96-bit EPCs, and every identity it returns is well formed', () => {
    const random = mulberry32(0xe9c)
    let decoded = 0
    for (let round = 0; round < 20_000; round++) {
      const header = round % 3 === 0 ? '30' : round % 3 === 1 ? '31' : hexByte(random)
      const hex = header + Array.from({ length: 11 }, () => hexByte(random)).join('')
      const identity = decodeEpc(hex)
      if (identity === null) continue
      decoded++
      expect(identity.tagUri).toMatch(/^urn:epc:tag:(sgtin-96:[0-7]\.\d{6,12}\.\d{1,7}\.\d+|sscc-96:[0-7]\.\d{6,12}\.\d{5,11})$/)
      expect(key(identity)).toMatch(identity.scheme === 'sgtin-96' ? /^\d{14}$/ : /^\d{18}$/)
      expect(identity.tagUri.replace(/^urn:epc:tag:(\w+)-96:\d\./, 'urn:epc:id:$1:')).toBe(identity.pureIdentityUri)
    }
    // most random partitions fit; the check above must have run
    expect(decoded).toBeGreaterThan(5000)
  })
})

/** A test-side encoder: header, filter, partition, then the two numeric fields and the rest. */
function encode (header: number, filter: number, partition: number, company: bigint, reference: bigint, rest: bigint, referenceBits: number, restBits: number): string {
  const companyBits = 96 - 8 - 3 - 3 - referenceBits - restBits
  let value = BigInt(header)
  value = (value << 3n) | BigInt(filter)
  value = (value << 3n) | BigInt(partition)
  value = (value << BigInt(companyBits)) | (company & ((1n << BigInt(companyBits)) - 1n))
  value = (value << BigInt(referenceBits)) | (reference & ((1n << BigInt(referenceBits)) - 1n))
  value = (value << BigInt(restBits)) | rest
  return value.toString(16).toUpperCase().padStart(24, '0')
}

function hexByte (random: () => number): string {
  return Math.floor(random() * 256).toString(16).padStart(2, '0')
}

function mulberry32 (seed: number): () => number {
  let state = seed
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
