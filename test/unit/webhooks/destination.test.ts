import { describe, expect, it } from 'vitest'
import { checkDestination, forbiddenAddress } from '../../../server/webhooks/destination.js'

/** [URL, the part of the reason that must show]: every spelling must be refused, whatever it looks like. */
const FORBIDDEN: Array<[string, string]> = [
  // schemes and userinfo
  ['ftp://example.com/hook', 'must be http:// or https://'],
  ['file:///etc/passwd', 'must be http:// or https://'],
  ['gopher://example.com:70/_x', 'must be http:// or https://'],
  ['javascript:alert(1)', 'must be http:// or https://'],
  ['https://user:pass@example.com/hook', 'must not hold a user name or password'],
  ['https://user@example.com/hook', 'must not hold a user name or password'],
  ['https://:secret@example.com/hook', 'must not hold a user name or password'],
  ['http://erp.example.com@127.0.0.1/hook', 'must not hold a user name or password'],
  ['not a url', 'not a valid URL'],
  // loopback, in every spelling
  ['http://127.0.0.1/hook', 'a loopback address (127.0.0.1)'],
  ['http://127.0.0.1:5432/', 'a loopback address (127.0.0.1)'],
  ['http://127.255.255.254/', 'a loopback address (127.255.255.254)'],
  ['http://2130706433/', 'a loopback address (127.0.0.1)'],
  ['http://0x7f000001/', 'a loopback address (127.0.0.1)'],
  ['http://0x7F.0.0.1/', 'a loopback address (127.0.0.1)'],
  ['http://0177.0.0.1/', 'a loopback address (127.0.0.1)'],
  ['http://017700000001/', 'a loopback address (127.0.0.1)'],
  ['http://127.1/', 'a loopback address (127.0.0.1)'],
  ['http://127.0.1/', 'a loopback address (127.0.0.1)'],
  ['http://127.0.0.1./', 'a loopback address (127.0.0.1)'],
  ['http://%31%32%37.0.0.1/', 'a loopback address (127.0.0.1)'],
  ['http://１２７.０.０.１/', 'a loopback address (127.0.0.1)'],
  ['http://[::1]/', 'a loopback address (::1)'],
  ['http://[0:0:0:0:0:0:0:1]/', 'a loopback address (::1)'],
  ['http://localhost/', 'a loopback address (localhost)'],
  ['http://LOCALHOST:8080/', 'a loopback address (localhost)'],
  ['http://localhost./', 'a loopback address (localhost)'],
  ['http://api.localhost/', 'a loopback address (api.localhost)'],
  ['http://a.b.localhost./hook', 'a loopback address (a.b.localhost)'],
  // IPv4-mapped, -compatible, -translated and NAT64 forms
  ['http://[::ffff:127.0.0.1]/', 'a loopback address (127.0.0.1'],
  ['http://[::ffff:7f00:1]/', 'a loopback address (127.0.0.1'],
  ['http://[0:0:0:0:0:ffff:7f00:0001]/', 'a loopback address (127.0.0.1'],
  ['http://[::ffff:10.0.0.1]/', 'a private address (10.0.0.1'],
  ['http://[::ffff:169.254.169.254]/', 'a cloud metadata service (169.254.169.254'],
  ['http://[::127.0.0.1]/', 'embedding a loopback address (127.0.0.1)'],
  ['http://[::7f00:1]/', 'embedding a loopback address (127.0.0.1)'],
  ['http://[::ffff:0:7f00:1]/', 'embedding a loopback address (127.0.0.1)'],
  ['http://[64:ff9b::127.0.0.1]/', 'a NAT64 address (64:ff9b::7f00:1) embedding a loopback address (127.0.0.1)'],
  ['http://[64:ff9b::a00:1]/', 'embedding a private address (10.0.0.1)'],
  ['http://[64:ff9b::8.8.8.8]/', 'a NAT64 address'],
  ['http://[2002:7f00:1::]/', 'a 6to4 address'],
  // unspecified
  ['http://0/', 'an unspecified address (0.0.0.0)'],
  ['http://0.0.0.0/', 'an unspecified address (0.0.0.0)'],
  ['http://0x0/', 'an unspecified address (0.0.0.0)'],
  ['http://[::]/', 'an unspecified address (::)'],
  // private
  ['http://10.0.0.1/', 'a private address (10.0.0.1)'],
  ['http://10.255.255.255/', 'a private address (10.255.255.255)'],
  ['http://167772161/', 'a private address (10.0.0.1)'],
  ['http://172.16.0.1/', 'a private address (172.16.0.1)'],
  ['http://172.31.255.254/', 'a private address (172.31.255.254)'],
  ['http://192.168.1.1/', 'a private address (192.168.1.1)'],
  ['http://0xc0a80101/', 'a private address (192.168.1.1)'],
  ['http://0300.0250.1.1/', 'a private address (192.168.1.1)'],
  ['http://192.168.257/', 'a private address (192.168.1.1)'],
  ['http://[fc00::1]/', 'a unique local (private) address (fc00::1)'],
  ['http://[fd12:3456:789a::1]/', 'a unique local (private) address'],
  // link-local and cloud metadata
  ['http://169.254.0.1/', 'a link-local address (169.254.0.1)'],
  ['http://[fe80::1]/', 'a link-local address (fe80::1)'],
  ['http://[febf::1]/', 'a link-local address (febf::1)'],
  ['http://169.254.169.254/latest/meta-data/', 'a cloud metadata service (169.254.169.254)'],
  ['http://2852039166/', 'a cloud metadata service (169.254.169.254)'],
  ['http://0xa9fea9fe/', 'a cloud metadata service (169.254.169.254)'],
  ['http://0251.0376.0251.0376/', 'a cloud metadata service (169.254.169.254)'],
  ['http://169.254.43518/', 'a cloud metadata service (169.254.169.254)'],
  ['http://[fd00:ec2::254]/', 'a cloud metadata service (fd00:ec2::254)'],
  ['http://metadata.google.internal/computeMetadata/v1/', 'a cloud metadata service (metadata.google.internal)'],
  ['http://METADATA.google.internal./', 'a cloud metadata service (metadata.google.internal)'],
  // carrier-grade NAT, multicast, broadcast, reserved
  ['http://100.64.0.1/', 'a carrier-grade NAT address (100.64.0.1)'],
  ['http://100.127.255.254/', 'a carrier-grade NAT address (100.127.255.254)'],
  ['http://100.100.100.200/', 'a carrier-grade NAT address (100.100.100.200)'],
  ['http://224.0.0.1/', 'a multicast address (224.0.0.1)'],
  ['http://239.255.255.250/', 'a multicast address (239.255.255.250)'],
  ['http://[ff02::1]/', 'a multicast address (ff02::1)'],
  ['http://255.255.255.255/', 'a broadcast address (255.255.255.255)'],
  ['http://4294967295/', 'a broadcast address (255.255.255.255)'],
  ['http://240.0.0.1/', 'a reserved address (240.0.0.1)'],
  ['http://192.0.2.1/', 'a reserved address (192.0.2.1)'],
  ['http://198.51.100.7/', 'a reserved address (198.51.100.7)'],
  ['http://203.0.113.9/', 'a reserved address (203.0.113.9)'],
  ['http://192.0.0.192/', 'a reserved address (192.0.0.192)'],
  ['http://[2001:db8::1]/', 'a reserved address (2001:db8::1)'],
  ['http://[100::1]/', 'a discard-only address (100::1)']
]

const ALLOWED = [
  'https://93.184.216.34/',
  'http://93.184.216.34:8080/hooks?x=1',
  'https://1.1.1.1/hook',
  'https://8.8.8.8/',
  'https://100.63.255.255/',
  'https://100.128.0.1/',
  'https://172.15.255.255/',
  'https://172.32.0.1/',
  'https://169.253.255.255/',
  'https://example.com/hook',
  'https://erp.example.com/hooks/trackstream',
  'https://EXAMPLE.com./hook',
  'https://localhost.example.com/hook',
  'https://xn--bcher-kva.example/hook',
  'https://[2606:4700::1111]/',
  'https://[2606:4700:4700::1111]:8443/hook',
  'https://[::ffff:93.184.216.34]/'
]

describe('webhook destinations', () => {
  it.each(FORBIDDEN)('refuses %s', (url, reason) => {
    const verdict = checkDestination(url)
    expect(verdict.allowed).toBe(false)
    if (!verdict.allowed) expect(verdict.reason).toContain(reason)
  })

  it.each(ALLOWED)('allows %s', (url) => {
    expect(checkDestination(url)).toMatchObject({ allowed: true })
  })

  it('says which URL part was wrong in a sentence of its own', () => {
    expect(checkDestination('http://2130706433/hook')).toEqual({ allowed: false, reason: 'webhook URL points at a loopback address (127.0.0.1)' })
    expect(checkDestination('http://[::ffff:7f00:1]/')).toEqual({ allowed: false, reason: 'webhook URL points at a loopback address (127.0.0.1, written ::ffff:7f00:1)' })
  })

  it('gives the host as DNS wants it: no brackets, no trailing dot', () => {
    expect(checkDestination('https://Erp.Example.COM./x')).toMatchObject({ allowed: true, host: 'erp.example.com' })
    expect(checkDestination('https://[2606:4700::1111]:8443/x')).toMatchObject({ allowed: true, host: '2606:4700::1111' })
  })

  it('allows loopback and private networks with allowPrivate, but never metadata, userinfo or other schemes', () => {
    const options = { allowPrivate: true }
    for (const url of ['http://127.0.0.1:8080/', 'http://2130706433/', 'http://localhost/', 'http://[::1]/', 'http://10.1.2.3/', 'http://192.168.1.1/',
      'http://[fd12::1]/', 'http://[::ffff:127.0.0.1]/', 'http://100.64.0.1/', 'http://169.254.10.10/']) {
      expect([url, checkDestination(url, options).allowed]).toEqual([url, true])
    }
    for (const url of ['http://169.254.169.254/', 'http://[fd00:ec2::254]/', 'http://metadata.google.internal/', 'http://u:p@127.0.0.1/',
      'ftp://127.0.0.1/', 'http://224.0.0.1/', 'http://255.255.255.255/', 'http://240.0.0.1/', 'http://[64:ff9b::7f00:1]/']) {
      expect([url, checkDestination(url, options).allowed]).toEqual([url, false])
    }
  })

  it('judges resolved addresses the same way', () => {
    expect(forbiddenAddress('93.184.216.34')).toBeUndefined()
    expect(forbiddenAddress('2606:4700::1111')).toBeUndefined()
    expect(forbiddenAddress('127.0.0.1')).toBe('a loopback address (127.0.0.1)')
    expect(forbiddenAddress('::ffff:127.0.0.1')).toBe('a loopback address (127.0.0.1, written ::ffff:127.0.0.1)')
    expect(forbiddenAddress('fe80::1%eth0')).toContain('a link-local address')
    expect(forbiddenAddress('10.0.0.5')).toBe('a private address (10.0.0.5)')
    expect(forbiddenAddress('10.0.0.5', { allowPrivate: true })).toBeUndefined()
    expect(forbiddenAddress('169.254.169.254', { allowPrivate: true })).toBe('a cloud metadata service (169.254.169.254)')
    expect(forbiddenAddress('not-an-address')).toBe('an address that cannot be parsed (not-an-address)')
  })
})
