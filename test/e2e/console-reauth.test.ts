// Console security through a listening server, on SQLite and PostgreSQL (docs/console.md):
// re-authentication before minting a SCIM token (OWASP ASVS 4.0.3 3.7.1), the token answer's
// Cache-Control and that it is shown once, the session cookie's attributes over HTTPS and plain
// HTTP (ASVS 3.4.1-3.4.5), sign-out, cross-origin changes refused (CSRF), and sign-in guesses
// limited per email and per address (ASVS 2.2.1).
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_POLICY } from '../../src/console/accounts.ts'
import { buildApp } from '../../src/http/app.ts'
import { uuidV7Generator } from '../../src/ids.ts'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { DEFAULT_LIMITS, type Deps } from '../../src/provisioning/deps.ts'
import { createOrg } from '../../src/provisioning/orgs.ts'
import type { OrgId } from '../../src/store/store.ts'
import { PASSWORD, consoleAccount } from '../helpers/console.ts'
import { storeMatrix, type StoreFactory } from '../helpers/stores.ts'
import { jsonBody } from '../helpers/json-body.ts'

interface Served {
  readonly base: string
  readonly deps: Deps
  readonly orgId: OrgId
  /** The organization's SCIM token from its creation. */
  readonly scimToken: string
  /** Moves the server's clock on. */
  advance(ms: number): void
  close(): Promise<void>
}

/** The app on a real socket of 127.0.0.1, with `publicUrl` and a clock the test moves. */
async function serve(factory: StoreFactory, publicUrl: string | null, authFailuresPerMinute = 0): Promise<Served> {
  const { store, cleanup } = await factory.open()
  let clock = Date.now()
  const deps: Deps = { store, now: () => new Date(clock), newId: uuidV7Generator(), limits: DEFAULT_LIMITS }
  const app = await buildApp({ deps, config: { publicUrl, requestTimeoutMs: 20_000, logLevel: 'silent', authFailuresPerMinute }, webhooks: false })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const a = app.server.address()
  if (a === null || typeof a === 'string') throw new Error('not listening on TCP')
  const org = await createOrg(deps, `org-${randomUUID()}`, [])
  return {
    base: `http://127.0.0.1:${a.port}`, deps, orgId: org.orgId, scimToken: org.token,
    advance: (ms) => { clock += ms },
    async close() {
      await app.close()
      await cleanup()
    },
  }
}

interface Session { readonly cookie: string; readonly csrf: string; readonly setCookie: string }
interface Answer { readonly status: number; readonly headers: Headers; readonly json: Record<string, unknown> }

async function send(s: Served, method: string, path: string, opts: { session?: Session; csrf?: string | null; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) }
  if (opts.session) headers.cookie = opts.session.cookie
  const csrf = opts.csrf === undefined ? opts.session?.csrf : opts.csrf
  if (csrf) headers['x-csrf-token'] = csrf
  if (opts.body !== undefined) headers['content-type'] ??= 'application/json'
  const r = await fetch(`${s.base}${path}`, { method, headers, body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body) })
  const text = await r.text()
  const json = jsonBody(text)
  return { status: r.status, headers: r.headers, json }
}

async function signIn(s: Served, email: string, password = PASSWORD): Promise<Session> {
  const r = await fetch(`${s.base}/api/v1/console/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) })
  if (r.status !== 200) throw new Error(`sign-in answered ${r.status}: ${await r.text()}`)
  const setCookie = r.headers.get('set-cookie') ?? ''
  return { cookie: setCookie.split(';')[0] ?? '', csrf: String(((await r.json()) as { csrfToken: string }).csrfToken), setCookie }
}

/** A SCIM request's status with `token`. */
async function scimStatus(s: Served, token: string): Promise<number> {
  return (await fetch(`${s.base}/scim/v2/Users`, { headers: { authorization: `Bearer ${token}` } })).status
}

/** What an account needs to reach console routes: an account made as `roster admin create` and its link make it. */
async function account(s: Served, email: string, role: 'admin' | 'viewer'): Promise<void> {
  await consoleAccount({ deps: s.deps, store: s.deps.store, orgId: s.orgId } as Parameters<typeof consoleAccount>[0], email, role)
}

describe.each(storeMatrix())('console security on $name', (factory) => {
  let s: Served
  let orgPath = ''
  let live = ''

  beforeAll(async () => {
    s = await serve(factory, 'https://roster.test')
    orgPath = `/api/v1/orgs/${s.orgId}`
    live = s.scimToken
    await account(s, 'admin@acme.test', 'admin')
    await account(s, 'guess@acme.test', 'admin')
  })
  afterAll(async () => s.close())

  it('over HTTPS the cookie is __Host-roster_session: Secure, HttpOnly, SameSite=Strict, Path=/; the unprefixed name is not read', async () => {
    const a = await signIn(s, 'admin@acme.test')
    expect(a.setCookie).toMatch(/^__Host-roster_session=roster_session_[\w-]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict; Secure$/)
    expect(a.setCookie).not.toMatch(/Domain=/i)
    expect((await send(s, 'GET', '/api/v1/console/session', { session: a })).status).toBe(200)
    // The same secret under the plain name (as a sibling subdomain could set it) authenticates nothing.
    const tossed = a.cookie.replace(/^__Host-/, '')
    expect((await send(s, 'GET', '/api/v1/console/session', { headers: { cookie: tossed } })).status).toBe(401)
  })

  it('a fresh session refreshes the token at once; the answer is no-store and the token is never shown again', async () => {
    const a = await signIn(s, 'admin@acme.test')
    const r = await send(s, 'POST', `${orgPath}/scim-token`, { session: a })
    expect(r.status).toBe(201)
    expect(r.headers.get('cache-control')).toBe('no-store')
    const token = String(r.json.token)
    expect(await scimStatus(s, live)).toBe(401)
    expect(await scimStatus(s, token)).toBe(200)
    live = token
    // Every read of the token's page holds its last four characters, never the token.
    for (const path of [`${orgPath}/scim-token`, `${orgPath}/scim-status`, `${orgPath}/audit`]) {
      const read = await send(s, 'GET', path, { session: a })
      expect(read.status).toBe(200)
      expect(JSON.stringify(read.json)).not.toContain(token)
    }
    expect((await send(s, 'GET', `${orgPath}/scim-token`, { session: a })).json.tokens).toEqual([expect.objectContaining({ lastFour: token.slice(-4) })])
    const rotated = await send(s, 'POST', `${orgPath}/scim-token/rotate`, { session: a })
    expect(rotated.status).toBe(201)
    expect(rotated.headers.get('cache-control')).toBe('no-store')
    expect(JSON.stringify((await send(s, 'GET', `${orgPath}/scim-token`, { session: a })).json)).not.toContain(String(rotated.json.token))
    // The rotation's token replaces the live one at its first use.
    expect(await scimStatus(s, String(rotated.json.token))).toBe(200)
    live = String(rotated.json.token)
  })

  it('a session whose password is older than the window is refused 403 reauthentication_required: no token minted, an audit entry; confirming the password lets it through', async () => {
    const a = await signIn(s, 'admin@acme.test')
    s.advance(DEFAULT_POLICY.reauthMs + 1_000)
    const before = (await send(s, 'GET', `${orgPath}/scim-token`, { session: a })).json
    const refresh = await send(s, 'POST', `${orgPath}/scim-token`, { session: a })
    const rotate = await send(s, 'POST', `${orgPath}/scim-token/rotate`, { session: a })
    expect([refresh.status, rotate.status]).toEqual([403, 403])
    expect([refresh.json.error, rotate.json.error]).toEqual(['reauthentication_required', 'reauthentication_required'])
    expect(refresh.json).not.toHaveProperty('token')
    // 0 tokens minted: the same live tokens, and the live one still works.
    expect((await send(s, 'GET', `${orgPath}/scim-token`, { session: a })).json).toEqual(before)
    expect(await scimStatus(s, live)).toBe(200)
    const audit = (await send(s, 'GET', `${orgPath}/audit`, { session: a })).json.data as { actor: string; action: string; details: Record<string, unknown> }[]
    expect(audit.slice(0, 2).map((e) => [e.actor, e.action, e.details.operation])).toEqual([
      ['console:admin@acme.test', 'token.reauthentication_required', 'rotate'],
      ['console:admin@acme.test', 'token.reauthentication_required', 'refresh'],
    ])
    // The confirmation needs the session's CSRF token like every change.
    expect((await send(s, 'POST', '/api/v1/console/session/confirm', { session: a, csrf: null, body: { password: PASSWORD } })).status).toBe(403)
    const confirmed = await send(s, 'POST', '/api/v1/console/session/confirm', { session: a, body: { password: PASSWORD } })
    expect(confirmed.status).toBe(200)
    expect(confirmed.json.authenticatedAt).toBe(s.deps.now().toISOString())
    const again = await send(s, 'POST', `${orgPath}/scim-token`, { session: a })
    expect(again.status).toBe(201)
    expect(await scimStatus(s, live)).toBe(401)
    live = String(again.json.token)
    expect(await scimStatus(s, live)).toBe(200)
    // Revoking and reading take no confirmation: neither mints authority.
    expect((await send(s, 'GET', `${orgPath}/scim-token`, { session: a })).status).toBe(200)
  })

  it('an API key with org:admin is not a session: it refreshes without a confirmation', async () => {
    const key = await createApiKey(s.deps, { orgId: s.orgId, scopes: ['org:admin'], expiresAt: null })
    s.advance(DEFAULT_POLICY.reauthMs + 1_000)
    const r = await send(s, 'POST', `${orgPath}/scim-token`, { headers: { authorization: `Bearer ${key.key}` } })
    expect(r.status).toBe(201)
    expect(r.headers.get('cache-control')).toBe('no-store')
    live = String(r.json.token)
  })

  it('wrong passwords at the confirmation count toward the email\'s lock-out, shared with sign-in', async () => {
    const g = await signIn(s, 'guess@acme.test')
    s.advance(DEFAULT_POLICY.reauthMs + 1_000)
    const statuses: number[] = []
    for (let i = 0; i < DEFAULT_POLICY.maxFailures; i++) {
      statuses.push((await send(s, 'POST', '/api/v1/console/session/confirm', { session: g, body: { password: `wrong password ${i}` } })).status)
    }
    expect(statuses).toEqual([...Array<number>(DEFAULT_POLICY.maxFailures - 1).fill(401), 429])
    const right = await send(s, 'POST', '/api/v1/console/session/confirm', { session: g, body: { password: PASSWORD } })
    expect(right.status).toBe(429)
    expect(right.json.error).toBe('locked_out')
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(0)
    // Signing in with the email is locked out too, and the session still cannot mint.
    expect((await send(s, 'POST', '/api/v1/console/sign-in', { body: { email: 'guess@acme.test', password: PASSWORD } })).status).toBe(429)
    expect((await send(s, 'POST', `${orgPath}/scim-token`, { session: g })).json.error).toBe('reauthentication_required')
    expect(await scimStatus(s, live)).toBe(200)
  })

  it('sign-out ends the session: the old cookie is then 401', async () => {
    const a = await signIn(s, 'admin@acme.test')
    expect((await send(s, 'POST', '/api/v1/console/sign-out', { session: a })).status).toBe(204)
    expect((await send(s, 'GET', '/api/v1/console/session', { session: a })).status).toBe(401)
    expect((await send(s, 'POST', `${orgPath}/scim-token`, { session: a })).status).toBe(401)
  })

  it('another site\'s POST with the cookie but without the CSRF token is refused: token refresh, domains, settings', async () => {
    const a = await signIn(s, 'admin@acme.test')
    const evil = { origin: 'https://evil.test', referer: 'https://evil.test/' }
    const before = (await send(s, 'GET', `${orgPath}/scim-token`, { session: a })).json
    const tries = [
      await send(s, 'POST', `${orgPath}/scim-token`, { session: a, csrf: null, headers: evil }),
      await send(s, 'POST', `${orgPath}/scim-token/rotate`, { session: a, csrf: null, headers: evil }),
      await send(s, 'PATCH', `${orgPath}/settings`, { session: a, csrf: null, headers: evil, body: { domainAdd: ['evil.test'] } }),
      await send(s, 'POST', `${orgPath}/domains/acme.test/verify`, { session: a, csrf: null, headers: evil }),
      // A form post (text/plain, the only kind another site sends without a preflight).
      await send(s, 'POST', `${orgPath}/scim-token`, { session: a, csrf: null, headers: { ...evil, 'content-type': 'text/plain' }, body: '{}' }),
    ]
    expect(tries.map((r) => r.status)).toEqual([403, 403, 403, 403, 403])
    expect(tries.map((r) => r.json.error)).toEqual(['csrf_refused', 'csrf_refused', 'csrf_refused', 'csrf_refused', 'csrf_refused'])
    expect((await send(s, 'GET', `${orgPath}/scim-token`, { session: a })).json).toEqual(before)
    expect((await send(s, 'GET', `${orgPath}/settings`, { session: a })).json.domains).toEqual([])
    expect(await scimStatus(s, live)).toBe(200)
  })
})

describe.each(storeMatrix())('console cookie and sign-in limits over plain HTTP on $name', (factory) => {
  let s: Served

  beforeAll(async () => {
    s = await serve(factory, null, 3)
    for (const email of ['dev@acme.test', 'a@acme.test', 'b@acme.test', 'c@acme.test']) await account(s, email, 'admin')
  })
  afterAll(async () => s.close())

  it('the cookie is roster_session without Secure (a browser drops a Secure cookie over plain HTTP), HttpOnly, SameSite=Strict, Path=/', async () => {
    const d = await signIn(s, 'dev@acme.test')
    expect(d.setCookie).toMatch(/^roster_session=roster_session_[\w-]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict$/)
    expect((await send(s, 'GET', '/api/v1/console/session', { session: d })).status).toBe(200)
    expect((await send(s, 'GET', '/api/v1/console/session', { headers: { cookie: `__Host-${d.cookie}` } })).status).toBe(401)
    const out = await send(s, 'POST', '/api/v1/console/sign-out', { session: d })
    expect(out.headers.get('set-cookie')).toMatch(/^roster_session=; Path=\/; Max-Age=0; HttpOnly; SameSite=Strict$/)
    expect((await send(s, 'GET', '/api/v1/console/session', { session: d })).status).toBe(401)
  })

  it('wrong passwords spread over several emails from one address are limited per address: 429 too_many_failures with Retry-After', async () => {
    const wrong = []
    for (const email of ['a@acme.test', 'b@acme.test', 'c@acme.test']) {
      wrong.push((await send(s, 'POST', '/api/v1/console/sign-in', { body: { email, password: 'not the password' } })).status)
    }
    expect(wrong).toEqual([401, 401, 401])
    // No email has reached its own lock-out, yet the address is refused, even with a right password.
    const next = await send(s, 'POST', '/api/v1/console/sign-in', { body: { email: 'dev@acme.test', password: PASSWORD } })
    expect(next.status).toBe(429)
    expect(next.json.error).toBe('too_many_failures')
    expect(Number(next.headers.get('retry-after'))).toBeGreaterThan(0)
    s.advance(61_000)
    expect((await send(s, 'POST', '/api/v1/console/sign-in', { body: { email: 'dev@acme.test', password: PASSWORD } })).status).toBe(200)
  })
})
