// The pieces of http/tls.ts that need no socket: what counts as loopback, when plain HTTP is
// warned about, reading the certificate files, the suites offered, and the expiry notices (docs/architecture.md
// NET-1; the handshakes themselves: test/e2e/tls.test.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { ConfigError } from '../config.ts'
import { fixture } from '../../test/helpers/tls.ts'
import { X509Certificate } from 'node:crypto'
import { ENTRA_TLS12_SUITES, EXPIRY_WARNING_DAYS, TLS_CIPHERS, expiryNotice, isLoopbackHost, plainHttpWarning, readTlsFiles, watchExpiry } from './tls.ts'

describe('http/tls', () => {
  const dir = mkdtempSync(join(tmpdir(), 'roster-tls-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('loopback is 127.0.0.0/8, ::1 in any spelling and localhost; a wildcard, private or public address is not', () => {
    for (const h of ['127.0.0.1', '127.8.9.10', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) expect(isLoopbackHost(h), h).toBe(true)
    for (const h of ['0.0.0.0', '::', '[::]', '10.0.0.5', '192.168.1.10', '::ffff:10.0.0.1', 'fd00::1', 'roster.example.com', 'localhost.example.com']) expect(isLoopbackHost(h), h).toBe(false)
  })

  it('plain HTTP beyond loopback is warned about, naming the variables to set; not with TLS, not behind a trusted proxy, not on loopback', () => {
    const plain = { host: '0.0.0.0', tls: null, trustedProxies: [] }
    expect(plainHttpWarning(plain)).toMatch(/^serving plain HTTP on HOST 0\.0\.0\.0, beyond loopback: .*Set ROSTER_TLS_CERT_FILE and ROSTER_TLS_KEY_FILE .*ROSTER_TRUSTED_PROXIES/)
    expect(plainHttpWarning({ ...plain, host: '10.1.2.3' })).toContain('HOST 10.1.2.3')
    expect(plainHttpWarning({ ...plain, tls: { certFile: '/c.pem', keyFile: '/k.pem' } })).toBeNull()
    expect(plainHttpWarning({ ...plain, trustedProxies: ['10.0.0.0/8'] })).toBeNull()
    expect(plainHttpWarning({ ...plain, host: '127.0.0.1' })).toBeNull()
    expect(plainHttpWarning({ ...plain, host: '::1' })).toBeNull()
  })

  it('reads a certificate and its key; a missing file is an error naming its variable and path; a key of another certificate (of the same kind or not) or a file that is not PEM names both files and why', () => {
    const rsa = fixture('rsa')
    const pair = readTlsFiles({ certFile: rsa.certFile, keyFile: rsa.keyFile })
    expect(pair.cert.equals(rsa.cert) && pair.key.equals(rsa.key)).toBe(true)

    const missing = join(dir, 'missing.pem')
    expect(() => readTlsFiles({ certFile: missing, keyFile: rsa.keyFile })).toThrow(expect.objectContaining({ code: 'ROSTER_ERR_CONFIG_ROSTER_TLS_CERT_FILE', message: `ROSTER_TLS_CERT_FILE: ${missing} cannot be read (ENOENT)` }))
    expect(() => readTlsFiles({ certFile: rsa.certFile, keyFile: missing })).toThrow(expect.objectContaining({ code: 'ROSTER_ERR_CONFIG_ROSTER_TLS_KEY_FILE' }))

    const other = fixture('rsa-renewed')
    let mismatch: unknown
    try {
      readTlsFiles({ certFile: rsa.certFile, keyFile: other.keyFile })
    } catch (e) {
      mismatch = e
    }
    expect(mismatch).toBeInstanceOf(ConfigError)
    expect(mismatch).toMatchObject({ code: 'ROSTER_ERR_TLS_CERTIFICATE', message: expect.stringMatching(/key values mismatch/) })
    // The key's bytes are never in the message.
    expect((mismatch as Error).message).not.toContain('BEGIN')

    // An EC key beside an RSA certificate: OpenSSL loads both (in separate slots) without a word.
    const ecdsa = fixture('ecdsa')
    expect(() => readTlsFiles({ certFile: rsa.certFile, keyFile: ecdsa.keyFile })).toThrow(expect.objectContaining({ code: 'ROSTER_ERR_TLS_CERTIFICATE', message: expect.stringMatching(/the key is not the certificate's/) }))
    expect(readTlsFiles({ certFile: ecdsa.certFile, keyFile: ecdsa.keyFile }).key.equals(ecdsa.key)).toBe(true)

    const junk = join(dir, 'junk.pem')
    writeFileSync(junk, 'not a certificate\n')
    expect(() => readTlsFiles({ certFile: junk, keyFile: rsa.keyFile })).toThrow(expect.objectContaining({ code: 'ROSTER_ERR_TLS_CERTIFICATE', message: expect.stringContaining(`ROSTER_TLS_CERT_FILE ${junk}`) }))
  })

  it('offers TLS 1.3\'s suites, then Entra ID\'s TLS 1.2 minimum bar in its order, and no TLS 1.2 suite without ECDHE or with a SHA-1 MAC', () => {
    const suites = TLS_CIPHERS.split(':')
    expect(suites.slice(0, 3)).toEqual(['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'])
    expect(suites.slice(3, 3 + ENTRA_TLS12_SUITES.length)).toEqual(ENTRA_TLS12_SUITES.map((s) => s.openssl))
    for (const s of suites.slice(3)) expect(s, s).toMatch(/^ECDHE-(RSA|ECDSA)-(AES(128|256)-(GCM-SHA256|GCM-SHA384|SHA256|SHA384)|CHACHA20-POLY1305)$/)
  })
  it('says nothing of a certificate far from its end, warns within the last 14 days and errs once it has passed; at start and at every interval', () => {
    const { cert } = fixture('rsa')
    const end = Date.parse(new X509Certificate(cert).validTo)
    const day = 86_400_000
    expect(expiryNotice(cert, new Date(end - (EXPIRY_WARNING_DAYS + 1) * day))).toBeNull()
    expect(expiryNotice(cert, new Date(end - 3.5 * day))).toMatchObject({ level: 'warn', obj: { validTo: new Date(end).toISOString() }, msg: expect.stringContaining('in 4 days') })
    expect(expiryNotice(cert, new Date(end + day))).toMatchObject({ level: 'error', msg: expect.stringContaining('expired') })

    const logged: string[] = []
    const log = { info: () => undefined, warn: (_: object, m: string) => logged.push(`warn ${m}`), error: (_: object, m: string) => logged.push(`error ${m}`) }
    let now = end - 30 * day
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    try {
      const { stop } = watchExpiry(() => ({ cert, key: Buffer.alloc(0) }), log, () => new Date(now), 1_000)
      expect(logged).toEqual([])
      now = end - 2 * day
      vi.advanceTimersByTime(1_000)
      now = end + 1
      vi.advanceTimersByTime(1_000)
      stop()
      vi.advanceTimersByTime(5_000)
    } finally {
      vi.useRealTimers()
    }
    expect(logged.map((l) => l.split(' ')[0])).toEqual(['warn', 'error'])
  })
})
