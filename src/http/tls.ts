// TLS served by Roster itself (docs/security.md, "TLS"; docs/architecture.md NET-1). Identity
// providers reach a SCIM endpoint over HTTPS only: RFC 7644 §7.2 requires TLS; Microsoft Entra ID
// accepts TLS 1.2 and 1.3 and no earlier version, and lists the TLS 1.2 cipher suites an endpoint
// must offer, in its order (Microsoft Learn, "Tutorial: Develop and plan provisioning for a SCIM
// endpoint in Microsoft Entra ID", "TLS requirements": "TLS 1.2 Cipher Suites minimum bar");
// Okta requires the SCIM endpoint to be secured with TLS, an https:// URL (Okta developer guide,
// "Build your SCIM API service", "API endpoints").
//
// With ROSTER_TLS_CERT_FILE and ROSTER_TLS_KEY_FILE the server listens with HTTPS on its usual
// port; SIGHUP reads both files again and swaps the server's context (a renewed certificate needs
// no restart); a file that fails to read or to load at a reload leaves the old context serving.
// A certificate within 14 days of its end is warned about at start, at each reload and daily.
// Without them Roster serves plain HTTP, for a proxy that terminates TLS in front of it or a
// trial on loopback; beyond loopback without a proxy, a warning at start says what to set.
import { X509Certificate, createPrivateKey } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Server as TlsServer, createSecureContext, type SecureContextOptions } from 'node:tls'
import { BlockList, isIP } from 'node:net'
import { ConfigError, type Config } from '../config.ts'

/** What ROSTER_TLS_CERT_FILE and ROSTER_TLS_KEY_FILE name (absolute paths). */
export interface TlsFiles {
  readonly certFile: string
  readonly keyFile: string
}

/** The PEM text of both files. */
export interface TlsPair {
  readonly cert: Buffer
  readonly key: Buffer
}

/**
 * Entra ID's TLS 1.2 minimum bar, in the order its tutorial gives (IANA name, OpenSSL name). The
 * ECDSA suites need an ECDSA certificate and the RSA suites an RSA one; Entra offers both kinds.
 */
export const ENTRA_TLS12_SUITES: readonly { readonly iana: string; readonly openssl: string }[] = [
  { iana: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', openssl: 'ECDHE-ECDSA-AES128-GCM-SHA256' },
  { iana: 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384', openssl: 'ECDHE-ECDSA-AES256-GCM-SHA384' },
  { iana: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', openssl: 'ECDHE-RSA-AES128-GCM-SHA256' },
  { iana: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', openssl: 'ECDHE-RSA-AES256-GCM-SHA384' },
  { iana: 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256', openssl: 'ECDHE-ECDSA-AES128-SHA256' },
  { iana: 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384', openssl: 'ECDHE-ECDSA-AES256-SHA384' },
  { iana: 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256', openssl: 'ECDHE-RSA-AES128-SHA256' },
  { iana: 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384', openssl: 'ECDHE-RSA-AES256-SHA384' },
]

/**
 * The suites offered. TLS 1.3's three (RFC 8446 §9.1; Node only negotiates 1.3 when the list
 * names some), then Entra's TLS 1.2 bar in its order (led by ECDHE with AES-GCM, what RFC 7525
 * §4.2 recommends), then ChaCha20-Poly1305 with ECDHE (RFC 7905) for clients without AES
 * hardware. Every one has forward secrecy and an AEAD or a SHA-2 MAC: a client that offers only
 * static RSA key exchange, a SHA-1 MAC, 3DES or RC4 (RFC 7525 §4.1) is refused at the handshake.
 */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256',
  ...ENTRA_TLS12_SUITES.map((s) => s.openssl),
  'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
].join(':')

/** The secure context of the server: the pair, TLS 1.2 at least (Entra ID; RFC 8996 deprecates 1.0 and 1.1), the suites above in the server's order. */
export function tlsContextOptions(pair: TlsPair): SecureContextOptions & { honorCipherOrder: boolean } {
  return { cert: pair.cert, key: pair.key, minVersion: 'TLSv1.2', ciphers: TLS_CIPHERS, honorCipherOrder: true }
}

function readPem(path: string, variable: string): Buffer {
  try {
    return readFileSync(path)
  } catch (e) {
    const code = (e as { code?: unknown }).code
    throw new ConfigError(`ROSTER_ERR_CONFIG_${variable}`, `${variable}: ${path} cannot be read (${typeof code === 'string' ? code : (e as Error).message})`)
  }
}

/**
 * Reads both files and checks that they make a secure context (PEM, the key the certificate's),
 * so that a bad pair stops the server at start, or is refused at a reload, with the reason.
 */
export function readTlsFiles(files: TlsFiles): TlsPair {
  const pair = { cert: readPem(files.certFile, 'ROSTER_TLS_CERT_FILE'), key: readPem(files.keyFile, 'ROSTER_TLS_KEY_FILE') }
  const refuse = (why: string) => new ConfigError('ROSTER_ERR_TLS_CERTIFICATE', `ROSTER_TLS_CERT_FILE ${files.certFile} and ROSTER_TLS_KEY_FILE ${files.keyFile} do not make a TLS certificate: ${why}`)
  let matches: boolean
  try {
    createSecureContext(tlsContextOptions(pair))
    // OpenSSL keeps an RSA and an EC key in separate slots, so an EC key beside an RSA
    // certificate loads without complaint and every handshake fails: compare them here.
    matches = new X509Certificate(pair.cert).checkPrivateKey(createPrivateKey(pair.key))
  } catch (e) {
    // OpenSSL's reason ("key values mismatch", "no start line"); never the key's bytes.
    throw refuse((e as Error).message)
  }
  if (!matches) throw refuse('the key is not the certificate\'s (the first certificate of the file)')
  return pair
}

export interface ReloadLog {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

/** Days before a certificate's end from which the server warns (Let's Encrypt's clients renew at 30 days left). */
export const EXPIRY_WARNING_DAYS = 14
const DAY_MS = 86_400_000

/**
 * What to say of the served certificate's end at `now`: an error once it has passed (identity
 * providers refuse the handshake), a warning within EXPIRY_WARNING_DAYS, nothing before.
 */
export function expiryNotice(cert: Buffer, now: Date): { level: 'warn' | 'error'; obj: object; msg: string } | null {
  const x509 = new X509Certificate(cert)
  const validTo = new Date(Date.parse(x509.validTo))
  const daysLeft = (validTo.getTime() - now.getTime()) / DAY_MS
  const obj = { validTo: validTo.toISOString(), subject: x509.subject.replace(/\n/g, ', ') }
  if (daysLeft <= 0) return { level: 'error', obj, msg: `the TLS certificate expired on ${validTo.toISOString()}: identity providers refuse it; renew ROSTER_TLS_CERT_FILE and send SIGHUP` }
  if (daysLeft <= EXPIRY_WARNING_DAYS) return { level: 'warn', obj, msg: `the TLS certificate expires on ${validTo.toISOString()}, in ${Math.ceil(daysLeft)} days: renew ROSTER_TLS_CERT_FILE and send SIGHUP` }
  return null
}

/**
 * Logs the served certificate's expiry notice now and once every `everyMs` (a day), so that a
 * server running for weeks says so before its certificate ends; `served()` is the pair served
 * at that moment. `check` logs it at once (after a reload); `stop` ends the daily look.
 */
export function watchExpiry(served: () => TlsPair, log: ReloadLog, now: () => Date, everyMs = DAY_MS): { check: () => void; stop: () => void } {
  const check = () => {
    const n = expiryNotice(served().cert, now())
    if (n) log[n.level](n.obj, n.msg)
  }
  check()
  const timer = setInterval(check, everyMs)
  timer.unref()
  return { check, stop: () => clearInterval(timer) }
}

/**
 * On SIGHUP, reads the files again and serves the new pair to connections from then on (those
 * open keep theirs). A pair that cannot be read or loaded is logged with its reason and the
 * server keeps the pair it had. Returns what removes the handler.
 */
export function reloadOnSighup(server: object, files: TlsFiles, log: ReloadLog, onLoaded: (pair: TlsPair) => void = () => undefined): () => void {
  // Fastify types its server as a plain HTTP one; with `https` it is an https.Server, a tls.Server.
  if (!(server instanceof TlsServer)) throw new TypeError('reloadOnSighup: the server does not serve TLS')
  const reload = () => {
    try {
      const pair = readTlsFiles(files)
      server.setSecureContext(tlsContextOptions(pair))
      onLoaded(pair)
      log.info({ certFile: files.certFile }, 'TLS certificate reloaded on SIGHUP')
    } catch (e) {
      log.error({ code: e instanceof ConfigError ? e.code : undefined, reason: (e as Error).message }, 'TLS certificate not reloaded on SIGHUP: the previous one is still served')
    }
  }
  process.on('SIGHUP', reload)
  return () => {
    process.off('SIGHUP', reload)
  }
}

const LOOPBACK = new BlockList()
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4')
LOOPBACK.addAddress('::1', 'ipv6')

/** Whether HOST is a loopback address or name, which only this machine reaches (127.0.0.0/8, ::1 and its IPv4-mapped forms, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1')
  if (h === 'localhost') return true
  const family = isIP(h)
  return family !== 0 && LOOPBACK.check(h, family === 4 ? 'ipv4' : 'ipv6')
}

/**
 * The warning logged once at start when the server serves plain HTTP beyond loopback with
 * nothing said about TLS in front (null otherwise): SCIM tokens would cross the network in clear,
 * and Entra ID and Okta refuse an http:// tenant URL. ROSTER_TRUSTED_PROXIES is the operator's
 * word that a proxy sits in front, and the proxy is where TLS ends (compose.yaml's Caddy).
 */
export function plainHttpWarning(config: Pick<Config, 'host' | 'tls' | 'trustedProxies'>): string | null {
  if (config.tls !== null || config.trustedProxies.length > 0 || isLoopbackHost(config.host)) return null
  return `serving plain HTTP on HOST ${config.host}, beyond loopback: SCIM tokens and console passwords would cross the network in clear, and identity providers require https. ` +
    'Set ROSTER_TLS_CERT_FILE and ROSTER_TLS_KEY_FILE to serve HTTPS, or, behind a proxy that terminates TLS, set ROSTER_TRUSTED_PROXIES to its addresses (docs/security.md, "TLS")'
}
