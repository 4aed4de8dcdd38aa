/**
 * GS1 identities in 96-bit EPCs, per the GS1 EPC Tag Data Standard (TDS 2.x, §14): SGTIN-96 (a
 * trade item instance: GTIN + serial) and SSCC-96 (a logistic unit, such as a parcel or pallet).
 * Every other EPC, including the chip-serialised E2… ones that tags ship with, is not a GS1 key
 * here: decodeEpc returns null and the EPC stays a plain hex identifier.
 */
export type Gs1Identity = Sgtin96 | Sscc96

interface Common {
  /** urn:epc:tag:…, which keeps the filter value */
  tagUri: string
  /** urn:epc:id:…, the identity without the tag's encoding details */
  pureIdentityUri: string
  /** 0-7: what kind of object the tag is on (TDS Table 10-4 and 10-6) */
  filter: number
  companyPrefix: string
}

export interface Sgtin96 extends Common {
  scheme: 'sgtin-96'
  /** indicator digit followed by the item reference, as in the URI */
  itemReference: string
  /** GTIN-14, check digit included */
  gtin: string
  /** decimal, no leading zeros: the only serials SGTIN-96 can encode */
  serial: string
}

export interface Sscc96 extends Common {
  scheme: 'sscc-96'
  /** extension digit followed by the serial reference, as in the URI */
  serialReference: string
  /** SSCC-18, check digit included */
  sscc: string
}

interface Partition {
  companyBits: number
  companyDigits: number
  referenceBits: number
  referenceDigits: number
}

// TDS Table 14-2 (SGTIN) and 14-5 (SSCC): partition value → field widths; 7 is unassigned
const SGTIN_PARTITIONS = partitions([[40, 12, 4, 1], [37, 11, 7, 2], [34, 10, 10, 3], [30, 9, 14, 4], [27, 8, 17, 5], [24, 7, 20, 6], [20, 6, 24, 7]])
const SSCC_PARTITIONS = partitions([[40, 12, 18, 5], [37, 11, 21, 6], [34, 10, 24, 7], [30, 9, 28, 8], [27, 8, 31, 9], [24, 7, 34, 10], [20, 6, 38, 11]])

const SGTIN_96_HEADER = 0x30n
const SSCC_96_HEADER = 0x31n

export function decodeEpc (hex: string): Gs1Identity | null {
  if (typeof hex !== 'string' || !/^[0-9A-Fa-f]{24}$/.test(hex)) return null
  const bits = new BitReader(BigInt(`0x${hex}`), 96)
  const header = bits.read(8)
  if (header !== SGTIN_96_HEADER && header !== SSCC_96_HEADER) return null
  const filter = Number(bits.read(3))
  const partition = (header === SGTIN_96_HEADER ? SGTIN_PARTITIONS : SSCC_PARTITIONS)[Number(bits.read(3))]
  if (partition === undefined) return null
  const companyPrefix = digits(bits.read(partition.companyBits), partition.companyDigits)
  const reference = digits(bits.read(partition.referenceBits), partition.referenceDigits)
  if (companyPrefix === null || reference === null) return null
  return header === SGTIN_96_HEADER
    ? sgtin(filter, companyPrefix, reference, bits.read(38))
    : sscc(filter, companyPrefix, reference)
}

function sgtin (filter: number, companyPrefix: string, itemReference: string, serial: bigint): Sgtin96 {
  const body = `${companyPrefix}.${itemReference}.${serial}`
  const key = `${itemReference.slice(0, 1)}${companyPrefix}${itemReference.slice(1)}`
  return {
    scheme: 'sgtin-96',
    tagUri: `urn:epc:tag:sgtin-96:${filter}.${body}`,
    pureIdentityUri: `urn:epc:id:sgtin:${body}`,
    filter,
    companyPrefix,
    itemReference,
    gtin: `${key}${checkDigit(key)}`,
    serial: serial.toString()
  }
}

// the 24 bits after the serial reference are unallocated; the identity does not depend on them
function sscc (filter: number, companyPrefix: string, serialReference: string): Sscc96 {
  const body = `${companyPrefix}.${serialReference}`
  const key = `${serialReference.slice(0, 1)}${companyPrefix}${serialReference.slice(1)}`
  return {
    scheme: 'sscc-96',
    tagUri: `urn:epc:tag:sscc-96:${filter}.${body}`,
    pureIdentityUri: `urn:epc:id:sscc:${body}`,
    filter,
    companyPrefix,
    serialReference,
    sscc: `${key}${checkDigit(key)}`
  }
}

/** GS1 General Specifications §7.9: weights 3,1,3,… from the right, up to a multiple of ten. */
export function checkDigit (digitsOnly: string): number {
  let sum = 0
  for (let i = 0; i < digitsOnly.length; i++) {
    const digit = Number(digitsOnly[digitsOnly.length - 1 - i])
    sum += i % 2 === 0 ? digit * 3 : digit
  }
  return (10 - (sum % 10)) % 10
}

/** Zero-padded to `width`, or null when the value has more digits than the partition allows. */
function digits (value: bigint, width: number): string | null {
  const text = value.toString()
  return text.length > width ? null : text.padStart(width, '0')
}

function partitions (rows: Array<[number, number, number, number]>): Partition[] {
  return rows.map(([companyBits, companyDigits, referenceBits, referenceDigits]) => ({ companyBits, companyDigits, referenceBits, referenceDigits }))
}

/** Reads fields of a big-endian bit string from the most significant end. */
class BitReader {
  private remaining: number

  constructor (private readonly value: bigint, length: number) {
    this.remaining = length
  }

  read (width: number): bigint {
    this.remaining -= width
    return (this.value >> BigInt(this.remaining)) & ((1n << BigInt(width)) - 1n)
  }
}

/**
 * The key a parcel and a tag share when they carry the same GS1 identity: "sscc:<SSCC-18>" or
 * "sgtin:<GTIN-14>.<serial>". null for EPCs that encode none.
 */
export function gs1KeyOf (epc: string): string | null {
  const identity = decodeEpc(epc)
  if (identity === null) return null
  return identity.scheme === 'sscc-96' ? ssccKey(identity.sscc) : `sgtin:${identity.gtin}.${identity.serial}`
}

export function ssccKey (sscc: string): string {
  return `sscc:${sscc}`
}

/** An SSCC as printed on labels: 18 digits, the last one the check digit of the others. */
export function isValidSscc (sscc: string): boolean {
  return /^\d{18}$/.test(sscc) && checkDigit(sscc.slice(0, 17)) === Number(sscc[17])
}
