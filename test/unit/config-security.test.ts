import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../server/config.js'

const CWD = path.resolve('/srv/trackstream')

function problemsOf (env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env, CWD)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  throw new Error('expected a ConfigError')
}

describe('HTTP_TLS', () => {
  it('serves HTTP over TLS with the certificate files MQTT over TLS uses', () => {
    const config = loadConfig({ HTTP_TLS: 'true', TLS_CERT_FILE: 'c.pem', TLS_KEY_FILE: 'k.pem' }, CWD)
    expect(config.httpTls).toEqual({ certFile: path.join(CWD, 'c.pem'), keyFile: path.join(CWD, 'k.pem') })
    expect(config.mqttTls).toMatchObject({ certFile: path.join(CWD, 'c.pem') })
  })

  it('is off by default, and when false, even with a certificate', () => {
    expect(loadConfig({}, CWD).httpTls).toBeUndefined()
    expect(loadConfig({ HTTP_TLS: 'false', TLS_CERT_FILE: 'c.pem', TLS_KEY_FILE: 'k.pem' }, CWD).httpTls).toBeUndefined()
  })

  it('needs the certificate files, and says so', () => {
    expect(problemsOf({ HTTP_TLS: 'true' })).toEqual(['HTTP_TLS=true serves HTTP over TLS with TLS_CERT_FILE and TLS_KEY_FILE: set both'])
    // one file alone is already named, once
    expect(problemsOf({ HTTP_TLS: 'true', TLS_KEY_FILE: 'k.pem' })).toEqual(['TLS_CERT_FILE and TLS_KEY_FILE go together: set both for MQTT over TLS, or neither'])
    expect(problemsOf({ HTTP_TLS: 'yes' })).toEqual(['HTTP_TLS must be one of true, false, got "yes"'])
  })
})

describe('TRUST_PROXY', () => {
  it('is off unless set', () => {
    expect(loadConfig({}, CWD).trustProxy).toBe(false)
    expect(loadConfig({ TRUST_PROXY: 'false' }, CWD).trustProxy).toBe(false)
  })

  it('takes true, or the proxies\' addresses and ranges', () => {
    expect(loadConfig({ TRUST_PROXY: 'TRUE' }, CWD).trustProxy).toBe(true)
    expect(loadConfig({ TRUST_PROXY: '10.0.0.7' }, CWD).trustProxy).toEqual(['10.0.0.7'])
    expect(loadConfig({ TRUST_PROXY: ' 10.0.0.0/8, 192.168.1.1 ,fd00::/8,::1, loopback' }, CWD).trustProxy)
      .toEqual(['10.0.0.0/8', '192.168.1.1', 'fd00::/8', '::1', 'loopback'])
  })

  it('refuses a hop count, which cannot tell the proxy from a client', () => {
    expect(problemsOf({ TRUST_PROXY: '1' })).toEqual(['TRUST_PROXY takes no hop count ("1"): list the proxies\' addresses or CIDR ranges, e.g. 10.0.0.0/8'])
  })

  it('names what it cannot read', () => {
    const message = (bad: string): string => `TRUST_PROXY must be true, false, or a comma-separated list of addresses and CIDR ranges (or loopback, linklocal, uniquelocal), got "${bad}"`
    expect(problemsOf({ TRUST_PROXY: 'haproxy' })).toEqual([message('haproxy')])
    expect(problemsOf({ TRUST_PROXY: '10.0.0.0/33,10.0.0.1' })).toEqual([message('10.0.0.0/33')])
    expect(problemsOf({ TRUST_PROXY: '0x7f.1' })).toEqual([message('0x7f.1')])
    expect(problemsOf({ TRUST_PROXY: '10.0.0.1/8/8' })).toEqual([message('10.0.0.1/8/8')])
    expect(problemsOf({ TRUST_PROXY: ',' })).toEqual([message(',')])
  })
})

describe('ALLOWED_ORIGINS and CSP_EXTRA_ORIGINS', () => {
  it('are empty by default', () => {
    expect(loadConfig({}, CWD)).toMatchObject({ allowedOrigins: [], cspExtraOrigins: [] })
  })

  it('read origins as browsers send them: lower case, no default port, no trailing slash', () => {
    expect(loadConfig({ ALLOWED_ORIGINS: 'https://Ops.Example.com/, http://10.0.0.5:8080,https://ops.example.com:443' }, CWD).allowedOrigins)
      .toEqual(['https://ops.example.com', 'http://10.0.0.5:8080', 'https://ops.example.com'])
    expect(loadConfig({ CSP_EXTRA_ORIGINS: 'https://fonts.example.net,https://*.tiles.example.org:8443,http://[::1]:9000' }, CWD).cspExtraOrigins)
      .toEqual(['https://fonts.example.net', 'https://*.tiles.example.org:8443', 'http://[::1]:9000'])
  })

  it('refuse anything but an origin', () => {
    const allowed = (bad: string): string => `ALLOWED_ORIGINS must list origins such as https://maps.example.com (scheme, host, optional port; no path), separated by commas, got "${bad}"`
    expect(problemsOf({ ALLOWED_ORIGINS: 'https://ops.example.com/login' })).toEqual([allowed('https://ops.example.com/login')])
    expect(problemsOf({ ALLOWED_ORIGINS: 'ops.example.com' })).toEqual([allowed('ops.example.com')])
    expect(problemsOf({ ALLOWED_ORIGINS: '*' })).toEqual([allowed('*')])
    expect(problemsOf({ ALLOWED_ORIGINS: 'https://*.example.com' })).toEqual([allowed('https://*.example.com')])
    expect(problemsOf({ ALLOWED_ORIGINS: 'ftp://example.com' })).toEqual([allowed('ftp://example.com')])
    expect(problemsOf({ ALLOWED_ORIGINS: 'https://user@example.com' })).toEqual([allowed('https://user@example.com')])
    const extra = (bad: string): string => `CSP_EXTRA_ORIGINS must list origins such as https://maps.example.com or https://*.example.com (scheme, host, optional port; no path), separated by commas, got "${bad}"`
    // nothing that could end a CSP directive or start another
    expect(problemsOf({ CSP_EXTRA_ORIGINS: "https://a.example;script-src 'unsafe-inline'" })).toEqual([extra("https://a.example;script-src 'unsafe-inline'")])
    expect(problemsOf({ CSP_EXTRA_ORIGINS: 'https://a.example/glyphs/{fontstack}' })).toEqual([extra('https://a.example/glyphs/{fontstack}')])
  })
})
