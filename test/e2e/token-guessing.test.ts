// Token guessing (docs/security.md, "Token guessing"; OWASP ASVS 4.0.3 13.2.4, OWASP API Security
// Top 10 2023 API2, RFC 7644 §7.4): one source address sending guessed SCIM tokens and API keys of
// the right shape through the real server, on both stores. None is accepted; past
// ROSTER_AUTH_FAILURES_PER_MINUTE failures the source is answered 429 with Retry-After before
// any token lookup (the store's lookups are counted), while another source's valid token is
// answered. The clock is stopped, so that no failure leaves the minute while the test looks; the
// assertions count answers and lookups, never timings.
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { refreshScimToken } from '../../src/console/scim-tokens.ts'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { startApp, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'
import { listening } from '../helpers/typed-client.ts'
import { clientFrom, type Answer } from '../helpers/http-from.ts'

const LIMIT = 100
const GUESSES = 10_000
const AT_ONCE = 16
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error'

const guess = (prefix: string) => `${prefix}${randomBytes(32).toString('base64url')}`

describe.each(storeMatrix())('token guessing on $name', (factory) => {
  let t: TestApp | null = null
  const clients: { close(): void }[] = []
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close()
    await t?.close()
    t = null
  })

  async function start(clock: { ms: number }) {
    t = await startApp(factory, {}, { authFailuresPerMinute: LIMIT, now: () => new Date(clock.ms) })
    const base = await listening(t)
    const client = (address: string) => {
      const c = clientFrom(base, address, AT_ONCE)
      clients.push(c)
      return c
    }
    return { t, base, attacker: client('127.0.0.1'), other: client('127.0.0.2') }
  }

  it(`${GUESSES} guessed SCIM tokens from one address: none accepted, 429 with Retry-After past ${LIMIT} failures, no lookup after; another address is answered`, async () => {
    const clock = { ms: Date.now() }
    const { t, attacker, other } = await start(clock)
    const lookups = vi.spyOn(t.store, 'tokenOrg')
    const revokedLookups = vi.spyOn(t.store, 'orgOfRevokedToken')
    // A valid token from the attacker's address is answered while it is below the limit.
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
    expect((await attacker.send('GET', '/scim/v2/Users?count=1', bearer(t.token))).status).toBe(200)
    const statuses = new Map<number, number>()
    let refused: Answer | null = null
    for (let sent = 0; sent < GUESSES; sent += AT_ONCE) {
      const answers = await Promise.all(Array.from({ length: AT_ONCE }, () => attacker.send('GET', '/scim/v2/Users?count=1', bearer(guess('roster_scim_')))))
      for (const a of answers) {
        statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1)
        if (a.status === 429) refused ??= a
      }
    }
    expect(statuses.get(200) ?? 0).toBe(0)
    expect([...statuses.keys()].sort()).toEqual([401, 429])
    // Requests already past the check when the limit was reached were still looked up: at most one batch more.
    const unauthorized = statuses.get(401) ?? 0
    expect(unauthorized).toBeGreaterThanOrEqual(LIMIT)
    expect(unauthorized).toBeLessThan(LIMIT + AT_ONCE)
    expect(statuses.get(429)).toBe(GUESSES - unauthorized)
    expect(refused?.headers['retry-after']).toMatch(/^[1-9]\d*$/)
    expect(Number(refused?.headers['retry-after'])).toBeLessThanOrEqual(60)
    expect(refused?.headers['content-type']).toContain('application/scim+json')
    const body = JSON.parse(refused?.text ?? '{}') as Record<string, unknown>
    expect(body).toEqual({ schemas: [ERROR], status: '429', detail: expect.stringContaining('Too many failed authentications') })
    // One lookup (and one for a revoked token) per guess answered 401 and the valid token's, none since.
    expect(lookups.mock.calls.length).toBe(unauthorized + 1)
    expect(revokedLookups.mock.calls.length).toBe(unauthorized)
    const before = lookups.mock.calls.length
    for (let i = 0; i < 100; i++) expect((await attacker.send('GET', '/scim/v2/Users', bearer(guess('roster_scim_')))).status).toBe(429)
    // The limited address is refused even with a valid token (it is refused before its token is read)...
    expect((await attacker.send('GET', '/scim/v2/Users?count=1', bearer(t.token))).status).toBe(429)
    expect(lookups.mock.calls.length).toBe(before)
    // ...while another address's valid token is answered, and its own guesses are counted apart.
    expect((await other.send('GET', '/scim/v2/Users?count=1', bearer(t.token))).status).toBe(200)
    expect((await other.send('GET', '/scim/v2/Users?count=1', bearer(guess('roster_scim_')))).status).toBe(401)
    // Once the failures are a minute old, the address may authenticate again.
    clock.ms += 61_000
    expect((await attacker.send('GET', '/scim/v2/Users?count=1', bearer(t.token))).status).toBe(200)
  })

  it('guessed API keys count with guessed SCIM tokens; past the limit /api/v1 answers 429 too_many_failures before any key lookup', async () => {
    const clock = { ms: Date.now() }
    const { t, attacker, other } = await start(clock)
    const key = (await createApiKey(t.deps, { name: 'reader', orgId: t.orgId, scopes: ['directory:read'], expiresAt: null })).key
    const keyLookups = vi.spyOn(t.store, 'apiKeyByHash')
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
    const users = `/api/v1/orgs/${t.orgId}/users?limit=1`
    expect((await attacker.send('GET', users, bearer(key))).status).toBe(200)
    // Half the failures on SCIM, half on the API: one count.
    for (let i = 0; i < LIMIT / 2; i++) expect((await attacker.send('GET', '/scim/v2/Users', bearer(guess('roster_scim_')))).status).toBe(401)
    for (let i = 0; i < LIMIT / 2; i++) expect((await attacker.send('GET', users, bearer(guess('roster_api_')))).status).toBe(401)
    const looked = keyLookups.mock.calls.length
    const statuses: number[] = []
    for (let i = 0; i < 200; i++) statuses.push((await attacker.send('GET', users, bearer(guess('roster_api_')))).status)
    expect(new Set(statuses)).toEqual(new Set([429]))
    const refused = await attacker.send('GET', users, bearer(key))
    expect(refused.status).toBe(429)
    expect(refused.headers['retry-after']).toMatch(/^[1-9]\d*$/)
    expect(JSON.parse(refused.text)).toEqual({ error: 'too_many_failures', message: expect.stringContaining('Too many failed authentications') })
    expect(keyLookups.mock.calls.length).toBe(looked)
    expect((await other.send('GET', users, bearer(key))).status).toBe(200)
  })

  it('a revoked token is not a guess: an identity provider still sending one is answered 401, never limited', async () => {
    const clock = { ms: Date.now() }
    const { t, attacker } = await start(clock)
    const revoked = t.token
    // A new token replaces the organization's and revokes the old one, as the console does.
    const fresh = await refreshScimToken(t.deps, t.orgId, 'test')
    const statuses = new Set<number>()
    for (let i = 0; i < LIMIT * 2; i++) statuses.add((await attacker.send('GET', '/scim/v2/Users', { authorization: `Bearer ${revoked}` })).status)
    expect(statuses).toEqual(new Set([401]))
    expect((await attacker.send('GET', '/scim/v2/Users?count=1', { authorization: `Bearer ${fresh.token}` })).status).toBe(200)
  })

  it('behind a trusted proxy the client its X-Forwarded-For names is counted; from anyone else the header is ignored', async () => {
    const proxied = async (trustedProxies: readonly string[] | undefined) => {
      t = await startApp(factory, {}, { authFailuresPerMinute: 5, ...(trustedProxies ? { trustedProxies } : {}), now: () => new Date(Date.parse('2026-06-01T00:00:00Z')) })
      const proxy = clientFrom(await listening(t), '127.0.0.1', 1)
      clients.push(proxy)
      const from = (client: string, token: string) => proxy.send('GET', '/scim/v2/Users?count=1', { authorization: `Bearer ${token}`, 'x-forwarded-for': client })
      const guesses: number[] = []
      for (let i = 0; i < 6; i++) guesses.push((await from('203.0.113.5', guess('roster_scim_'))).status)
      const answers = {
        guesses,
        guesserValidToken: (await from('203.0.113.5', t.token)).status,
        otherClientGuess: (await from('198.51.100.7', guess('roster_scim_'))).status,
        otherClientValidToken: (await from('198.51.100.7', t.token)).status,
      }
      for (const c of clients.splice(0)) c.close()
      await t.close()
      t = null
      return answers
    }
    // The proxy trusted: each client behind it has its own count.
    expect(await proxied(['127.0.0.1'])).toEqual({ guesses: [401, 401, 401, 401, 401, 429], guesserValidToken: 429, otherClientGuess: 401, otherClientValidToken: 200 })
    // Not trusted: the header is a client's claim, and every request is the proxy's address.
    expect(await proxied(undefined)).toEqual({ guesses: [401, 401, 401, 401, 401, 429], guesserValidToken: 429, otherClientGuess: 429, otherClientValidToken: 429 })
  })
})
