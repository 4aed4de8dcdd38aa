import ipaddr from 'ipaddr.js'

/**
 * Where a webhook may be sent. A subscription's URL is chosen by whoever holds an API key, and the
 * POST goes out from inside the operator's network, so a URL pointing at that network (a database's
 * admin port, a cloud metadata service, the server itself) would make trackstream a proxy into it
 * (issue 14). Pure: the address checks after DNS resolution live in send.ts and call
 * `forbiddenAddress` here on every address the name resolved to.
 */
export interface DestinationOptions {
  /** WEBHOOK_ALLOW_PRIVATE: receivers on loopback and private networks are allowed (tests, on-premises ERPs). */
  allowPrivate?: boolean
}

export type DestinationVerdict =
  | { allowed: true, url: URL, /** The host without brackets or a trailing dot: what DNS is asked, or the literal address. */ host: string }
  | { allowed: false, reason: string }

/** Cloud instance metadata services: refused even when private destinations are allowed. */
const METADATA_ADDRESSES = new Set(['169.254.169.254', 'fd00:ec2::254'])
const METADATA_NAMES = new Set(['metadata.google.internal'])

/** How each range ipaddr.js names reads in a refusal; only 'unicast' is allowed. */
const RANGE_NAMES: Record<string, string> = {
  unspecified: 'an unspecified address',
  broadcast: 'a broadcast address',
  multicast: 'a multicast address',
  linkLocal: 'a link-local address',
  loopback: 'a loopback address',
  carrierGradeNat: 'a carrier-grade NAT address',
  private: 'a private address',
  reserved: 'a reserved address',
  benchmarking: 'a benchmarking address',
  as112: 'an AS112 address',
  as112v6: 'an AS112 address',
  amt: 'an AMT address',
  uniqueLocal: 'a unique local (private) address',
  ipv4Mapped: 'an IPv4-mapped address',
  rfc6145: 'an IPv4-translated address',
  rfc6052: 'a NAT64 address',
  '6to4': 'a 6to4 address',
  teredo: 'a Teredo address',
  deprecatedSiteLocal: 'a site-local address',
  discard: 'a discard-only address',
  deprecatedOrchid: 'an ORCHID address',
  orchid2: 'an ORCHID address',
  droneRemoteIdProtocolEntityTags: 'a DRIP address',
  segmentRouting: 'a segment routing address'
}

/** The ranges WEBHOOK_ALLOW_PRIVATE opens: what an operator's own network and machine use. */
const PRIVATE_RANGES = new Set(['loopback', 'private', 'uniqueLocal', 'linkLocal', 'carrierGradeNat', 'unspecified'])

/**
 * Whether `value` is an allowed webhook destination, judged on the URL alone (scheme, userinfo,
 * host). A host name that is not an address is allowed here; what it resolves to is checked at
 * delivery. The WHATWG parser has already turned every IPv4 spelling (2130706433, 0x7f000001,
 * 0177.0.0.1, 127.1, a trailing dot, percent-encoding, full-width digits) into dotted form.
 */
export function checkDestination (value: string, options: DestinationOptions = {}): DestinationVerdict {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return { allowed: false, reason: 'webhook URL is not a valid URL' }
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { allowed: false, reason: `webhook URL must be http:// or https://, not ${url.protocol}//` }
  }
  // credentials in the URL would be sent to the receiver, and "trusted.example@10.0.0.1" misleads a reader
  if (url.username !== '' || url.password !== '') {
    return { allowed: false, reason: 'webhook URL must not hold a user name or password' }
  }
  const host = hostOf(url)
  if (host === '') return { allowed: false, reason: 'webhook URL has no host' }
  if (ipaddr.isValid(host)) {
    const forbidden = forbiddenAddress(host, options)
    return forbidden === undefined ? { allowed: true, url, host } : { allowed: false, reason: `webhook URL points at ${forbidden}` }
  }
  if (METADATA_NAMES.has(host)) return { allowed: false, reason: `webhook URL points at a cloud metadata service (${host})` }
  if ((host === 'localhost' || host.endsWith('.localhost')) && options.allowPrivate !== true) {
    // RFC 6761: resolvers answer loopback for every name under localhost
    return { allowed: false, reason: `webhook URL points at a loopback address (${host})` }
  }
  return { allowed: true, url, host }
}

/**
 * Why an address (as a resolver or a URL gives it) may not be connected to, e.g. "a loopback
 * address (127.0.0.1)"; undefined if it may. Anything that is not a valid address is refused.
 */
export function forbiddenAddress (address: string, options: DestinationOptions = {}): string | undefined {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6
  try {
    // process() turns ::ffff:7f00:1 into 127.0.0.1, so a mapped address is judged as the IPv4 one
    parsed = ipaddr.process(address)
  } catch {
    return `an address that cannot be parsed (${address})`
  }
  const shown = parsed.toString() === address.toLowerCase() ? parsed.toString() : `${parsed.toString()}, written ${address}`
  if (METADATA_ADDRESSES.has(parsed.toString())) return `a cloud metadata service (${shown})`
  const embedded = embeddedIPv4(parsed)
  if (embedded !== undefined) {
    // ::7f00:1 and 64:ff9b::7f00:1 reach 127.0.0.1 on hosts and networks that still translate them
    const inner = forbiddenAddress(embedded.toString(), options)
    return inner === undefined
      ? `${describeRange(parsed)} (${shown}); only unicast addresses are allowed`
      : `${describeRange(parsed)} (${shown}) embedding ${inner}`
  }
  const range = parsed.range()
  if (range === 'unicast') return undefined
  if (options.allowPrivate === true && PRIVATE_RANGES.has(range)) return undefined
  return `${describeRange(parsed)} (${shown})`
}

/** The URL's host as DNS or a socket wants it: no IPv6 brackets, no trailing dot, lower case. */
export function hostOf (url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.+$/, '').toLowerCase()
}

/** The IPv4 address inside an IPv4-compatible (::/96), IPv4-translated or NAT64 (/96) IPv6 address. */
function embeddedIPv4 (address: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | undefined {
  if (address.kind() !== 'ipv6') return undefined
  const parts = (address as ipaddr.IPv6).parts
  const part = (i: number): number => parts[i] ?? 0
  const zeroes = (from: number, to: number): boolean => parts.slice(from, to).every((p) => p === 0)
  const compatible = zeroes(0, 6) && (part(6) !== 0 || part(7) > 1)
  const translated = zeroes(0, 4) && part(4) === 0xffff && part(5) === 0
  const nat64 = part(0) === 0x64 && part(1) === 0xff9b && zeroes(2, 6)
  if (!compatible && !translated && !nat64) return undefined
  return new ipaddr.IPv4([part(6) >> 8, part(6) & 0xff, part(7) >> 8, part(7) & 0xff])
}

function describeRange (address: ipaddr.IPv4 | ipaddr.IPv6): string {
  const range = address.range()
  if (range === 'unicast' && embeddedIPv4(address) !== undefined) return 'an IPv4-compatible address'
  return RANGE_NAMES[range] ?? `a ${range} address`
}
