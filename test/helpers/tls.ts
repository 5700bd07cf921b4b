// TLS for tests: the committed test certificates (test/fixtures/tls, self-signed for 127.0.0.1
// and localhost), a bare handshake with a client forced to a version or a suite, and HTTPS
// requests that trust the test certificate.
import { readFileSync } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import { connect, type ConnectionOptions } from 'node:tls'
import { jsonBody } from './json-body.ts'

const DIR = join(import.meta.dirname, '..', 'fixtures', 'tls')

export interface Fixture {
  readonly certFile: string
  readonly keyFile: string
  readonly cert: Buffer
  readonly key: Buffer
}

/** `rsa` (2,048 bits), `rsa-renewed` (another RSA pair, as a renewal), `ecdsa` (P-256). */
export function fixture(name: 'rsa' | 'rsa-renewed' | 'ecdsa'): Fixture {
  const certFile = join(DIR, `${name}.crt`)
  const keyFile = join(DIR, `${name}.key`)
  return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) }
}

/** Every test certificate, for a client that must trust whichever the server shows. */
export function trustedCas(): Buffer[] {
  return (['rsa', 'rsa-renewed', 'ecdsa'] as const).map((n) => fixture(n).cert)
}

export type Handshake =
  | { readonly ok: true; readonly protocol: string | null; readonly cipher: string; readonly fingerprint256: string }
  | { readonly ok: false; readonly code: string; readonly message: string }

/**
 * A TLS handshake with 127.0.0.1:`port` and nothing more: the version, the suite and the server
 * certificate's fingerprint it agreed on, or the client's error code (an `…_ALERT_…` code is an
 * alert the server sent).
 */
export function handshake(port: number, opts: ConnectionOptions = {}): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca: trustedCas(), servername: 'localhost', ...opts })
    socket.once('secureConnect', () => {
      const out: Handshake = { ok: true, protocol: socket.getProtocol(), cipher: socket.getCipher().standardName, fingerprint256: socket.getPeerCertificate().fingerprint256 }
      socket.end()
      resolve(out)
    })
    socket.once('error', (e: Error & { code?: string }) => {
      socket.destroy()
      resolve({ ok: false, code: e.code ?? '', message: e.message })
    })
  })
}

/**
 * A client that OpenSSL 3 lets offer TLS 1.0 or 1.1 (or a weak suite): its own security level
 * refuses them otherwise, and the test must show the server refusing, not the client.
 */
export function legacyClient(version: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2', ciphers = 'DEFAULT'): ConnectionOptions {
  return { minVersion: version, maxVersion: version, ciphers: `${ciphers}@SECLEVEL=0` }
}

export interface HttpsAnswer {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly text: string
  readonly json: Record<string, unknown>
}

/** One HTTPS request to `base` (https://127.0.0.1:PORT), trusting the test certificates. */
export function httpsCall(base: string, method: string, path: string, opts: { headers?: Record<string, string>; body?: string } = {}): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers: opts.headers ?? {}, ca: trustedCas(), servername: 'localhost', agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: jsonBody(text) })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}
