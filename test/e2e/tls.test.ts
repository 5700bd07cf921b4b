// Roster serving TLS itself (ROSTER_TLS_CERT_FILE, ROSTER_TLS_KEY_FILE; docs/architecture.md
// NET-1, docs/security.md "TLS"), through a listening server on 127.0.0.1 and Node's TLS client.
// RFC 7644 §7.2 (TLS required); Microsoft Learn, "Tutorial: Develop and plan provisioning for a
// SCIM endpoint in Microsoft Entra ID", "TLS requirements" (TLS 1.2 and 1.3 only; the TLS 1.2
// cipher suites minimum bar); Okta developer guide, "Build your SCIM API service" (HTTPS).
//
// A refusal must be the server's: OpenSSL 3 refuses TLS 1.0, 1.1 and weak suites on the client
// side too, so the client is forced to offer them (SECLEVEL=0), the server's own error is
// checked, and the same client is shown to complete its handshake with a server that allows them.
import { randomUUID } from 'node:crypto'
import { connect as connectTcp } from 'node:net'
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/http/app.ts'
import { ENTRA_TLS12_SUITES } from '../../src/http/tls.ts'
import { uuidV7Generator } from '../../src/ids.ts'
import { DEFAULT_LIMITS, type Deps } from '../../src/provisioning/deps.ts'
import { createOrg } from '../../src/provisioning/orgs.ts'
import type { OrgId } from '../../src/store/store.ts'
import { user } from '../helpers/app.ts'
import { PASSWORD, consoleAccount } from '../helpers/console.ts'
import { storeMatrix, type StoreFactory } from '../helpers/stores.ts'
import { fixture, handshake, httpsCall, legacyClient, type Fixture } from '../helpers/tls.ts'

interface Served {
  readonly app: FastifyInstance
  readonly port: number
  readonly base: string
  readonly deps: Deps
  readonly orgId: OrgId
  readonly token: string
  /** The codes of the handshakes the server itself failed ('tlsClientError'). */
  readonly refused: string[]
  close(): Promise<void>
}

/** The app with `pair` on 127.0.0.1, without ROSTER_PUBLIC_URL; answers name https://127.0.0.1:8443 when the Host header is not allowed. */
async function serveTls(factory: StoreFactory, pair: Fixture, headersTimeoutMs = 10_000): Promise<Served> {
  const { store, cleanup } = await factory.open()
  const deps: Deps = { store, now: () => new Date(), newId: uuidV7Generator(), limits: DEFAULT_LIMITS }
  const app = await buildApp({
    deps, config: { publicUrl: null, host: '127.0.0.1', port: 8443, requestTimeoutMs: 20_000, headersTimeoutMs, logLevel: 'silent' },
    webhooks: false, tls: { cert: pair.cert, key: pair.key },
  })
  const refused: string[] = []
  app.server.on('tlsClientError', (e: Error & { code?: string }) => refused.push(e.code ?? e.message))
  await app.listen({ host: '127.0.0.1', port: 0 })
  const port = (app.server.address() as AddressInfo).port
  const org = await createOrg(deps, `tls-${randomUUID()}`, [])
  return {
    app, port, base: `https://127.0.0.1:${port}`, deps, orgId: org.orgId, token: org.token, refused,
    async close() {
      await app.close()
      await cleanup()
    },
  }
}

/** A TLS server that is not Roster and allows TLS 1.0 and every suite: the forced client's control. */
async function permissiveServer(): Promise<TlsServer> {
  const rsa = fixture('rsa')
  const server = createTlsServer({ cert: rsa.cert, key: rsa.key, minVersion: 'TLSv1', ciphers: 'ALL@SECLEVEL=0' }, (socket) => socket.end())
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

const portOf = (server: TlsServer): number => (server.address() as AddressInfo).port

describe('TLS handshakes with Roster (transport: SQLite only)', () => {
  const sqlite = storeMatrix()[0] as StoreFactory
  let rsa: Served
  let ecdsa: Served
  let control: TlsServer

  beforeAll(async () => {
    rsa = await serveTls(sqlite, fixture('rsa'), 1_000)
    ecdsa = await serveTls(sqlite, fixture('ecdsa'))
    control = await permissiveServer()
  })
  afterAll(async () => {
    await rsa.close()
    await ecdsa.close()
    await new Promise((resolve) => control.close(resolve))
  })

  it('TLS 1.0 and 1.1 are refused by the server with a protocol_version alert; the same client connects to a server that allows them', async () => {
    for (const version of ['TLSv1', 'TLSv1.1'] as const) {
      const before = rsa.refused.length
      const refused = await handshake(rsa.port, legacyClient(version))
      expect(refused, version).toMatchObject({ ok: false, code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' })
      expect(rsa.refused.slice(before), version).toEqual(['ERR_SSL_UNSUPPORTED_PROTOCOL'])
      expect(await handshake(portOf(control), legacyClient(version)), version).toMatchObject({ ok: true, protocol: version })
    }
  })

  it('TLS 1.2 is accepted with each of Entra ID\'s minimum cipher suites offered alone (ECDSA suites with an ECDSA certificate, RSA suites with an RSA one)', async () => {
    expect(ENTRA_TLS12_SUITES).toHaveLength(8)
    for (const suite of ENTRA_TLS12_SUITES) {
      const server = suite.iana.includes('_ECDSA_') ? ecdsa : rsa
      const r = await handshake(server.port, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: suite.openssl })
      expect(r, suite.iana).toMatchObject({ ok: true, protocol: 'TLSv1.2', cipher: suite.iana })
    }
  })

  it('TLS 1.3 is accepted, with either certificate', async () => {
    for (const server of [rsa, ecdsa]) {
      expect(await handshake(server.port, { minVersion: 'TLSv1.3' })).toMatchObject({ ok: true, protocol: 'TLSv1.3', cipher: expect.stringMatching(/^TLS_(AES_(128|256)_GCM|CHACHA20_POLY1305)_SHA(256|384)$/) })
    }
  })

  it('a client offering only a weak suite (static RSA key exchange, a SHA-1 MAC) is refused by the server: no shared cipher', async () => {
    for (const weak of ['AES128-SHA', 'AES256-GCM-SHA384', 'ECDHE-RSA-AES128-SHA', 'ECDHE-RSA-AES256-SHA']) {
      const before = rsa.refused.length
      expect(await handshake(rsa.port, legacyClient('TLSv1.2', weak)), weak).toMatchObject({ ok: false, code: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE' })
      expect(rsa.refused.slice(before), weak).toEqual(['ERR_SSL_NO_SHARED_CIPHER'])
      expect(await handshake(portOf(control), legacyClient('TLSv1.2', weak)), weak).toMatchObject({ ok: true, protocol: 'TLSv1.2' })
    }
  })

  it('a connection that never begins its handshake is closed by the server at the headers timeout (Node would wait 120 s)', async () => {
    const socket = connectTcp(rsa.port, '127.0.0.1')
    socket.on('error', () => undefined)
    const closed = new Promise<'closed'>((resolve) => socket.once('close', () => resolve('closed')))
    // Far beyond the 1 s headers timeout of this server, far below Node's default.
    const outcome = await Promise.race([closed, new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), 15_000))])
    socket.destroy()
    expect(outcome).toBe('closed')
  })
})

describe.each(storeMatrix())('SCIM and the console over Roster\'s own TLS on $name', (factory) => {
  let s: Served

  beforeAll(async () => {
    s = await serveTls(factory, fixture('rsa'))
    await consoleAccount({ deps: s.deps, store: s.deps.store, orgId: s.orgId } as Parameters<typeof consoleAccount>[0], 'admin@acme.test', 'admin')
  })
  afterAll(async () => s.close())

  const scim = { 'content-type': 'application/scim+json' }

  it('a SCIM create and read over HTTPS; answers name https://, also the server\'s own address for a Host header off the allow-list', async () => {
    const auth = { authorization: `Bearer ${s.token}` }
    const created = await httpsCall(s.base, 'POST', '/scim/v2/Users', { headers: { ...auth, ...scim }, body: JSON.stringify(user('ada@acme.test')) })
    expect(created.status).toBe(201)
    const id = String(created.json.id)
    expect(created.headers.location).toBe(`https://127.0.0.1:${s.port}/scim/v2/Users/${id}`)
    const read = await httpsCall(s.base, 'GET', `/scim/v2/Users/${id}`, { headers: auth })
    expect(read.status).toBe(200)
    expect(read.json).toMatchObject({ userName: 'ada@acme.test', meta: { location: `https://127.0.0.1:${s.port}/scim/v2/Users/${id}` } })
    const foreign = await httpsCall(s.base, 'POST', '/scim/v2/Users', { headers: { ...auth, ...scim, host: 'evil.example' }, body: JSON.stringify(user('grace@acme.test')) })
    expect(foreign.status).toBe(201)
    expect(foreign.headers.location).toBe(`https://127.0.0.1:8443/scim/v2/Users/${String(foreign.json.id)}`)
    expect(s.refused).toEqual([])
  })

  it('console sign-in over HTTPS without ROSTER_PUBLIC_URL: the cookie is __Host-roster_session, Secure; the session works; the unprefixed name is not read', async () => {
    const signIn = await httpsCall(s.base, 'POST', '/api/v1/console/sign-in', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'admin@acme.test', password: PASSWORD }) })
    expect(signIn.status).toBe(200)
    const setCookie = String(signIn.headers['set-cookie'])
    expect(setCookie).toMatch(/^__Host-roster_session=roster_session_[\w-]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict; Secure$/)
    const cookie = setCookie.split(';')[0] ?? ''
    const csrf = String(signIn.json.csrfToken)
    expect((await httpsCall(s.base, 'GET', '/api/v1/console/session', { headers: { cookie } })).status).toBe(200)
    expect((await httpsCall(s.base, 'GET', '/api/v1/console/session', { headers: { cookie: cookie.replace(/^__Host-/, '') } })).status).toBe(401)
    const out = await httpsCall(s.base, 'POST', '/api/v1/console/sign-out', { headers: { cookie, 'x-csrf-token': csrf } })
    expect(String(out.headers['set-cookie'])).toMatch(/^__Host-roster_session=; Path=\/; Max-Age=0; HttpOnly; SameSite=Strict; Secure$/)
    expect((await httpsCall(s.base, 'GET', '/api/v1/console/session', { headers: { cookie } })).status).toBe(401)
  })
})
