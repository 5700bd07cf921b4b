// Rate limits and request deadlines of /api/v1 (docs/security.md, "Rate limits", "Request
// deadlines"): a bucket per API key, one per organization (apart from the SCIM surface's) and one
// per console account; past them 429 `rate_limited` with Retry-After and the RateLimit fields.
// A request not answered by its deadline is 503 `unavailable` with Retry-After, and a write it
// had not finished is not made. Limits are tiny so that a short loop meets them; assertions count
// answers, never timings.
import { afterEach, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/http/app.ts'
import { createApiKey, type Scope } from '../../src/provisioning/api-keys.ts'
import type { OrgId } from '../../src/store/store.ts'
import { consoleAccount, call as consoleCall, signIn } from '../helpers/console.ts'
import { holdUser, startApp, user, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'

const LIMITS = { tokenPerSecond: 5, orgPerSecond: 50, burstSeconds: 2 }
const SCOPES: Scope[] = ['directory:read', 'directory:write', 'events:read']

async function key(t: TestApp, orgId: OrgId | null): Promise<string> {
  return (await createApiKey(t.deps, { name: `k-${Math.random()}`, orgId, scopes: SCOPES, expiresAt: null })).key
}

async function get(t: TestApp, secret: string, url: string) {
  const r = await t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${secret}` } })
  return { status: r.statusCode, headers: r.headers, json: JSON.parse(r.body || '{}') as Record<string, unknown> }
}

async function burst(t: TestApp, secret: string, n: number, orgId = t.orgId) {
  const answers = []
  for (let i = 0; i < n; i++) answers.push(await get(t, secret, `/api/v1/orgs/${orgId}/users?limit=1`))
  return { statuses: answers.map((a) => a.status), refused: answers.find((a) => a.status === 429) ?? null }
}

describe.each(storeMatrix())('/api/v1 rate limits and deadlines on $name', (factory) => {
  let t: TestApp | null = null
  afterEach(async () => {
    await t?.close()
    t = null
  })

  it('an API key past its bucket gets 429 rate_limited with Retry-After and RateLimit fields; another key, and the SCIM token, are served', async () => {
    t = await startApp(factory, {}, { rateLimits: LIMITS })
    const first = await key(t, t.orgId)
    const { statuses, refused } = await burst(t, first, 40)
    const ok = statuses.filter((s) => s === 200).length
    // A bucket of 10 (5 a second for 2 seconds), refilling while the loop runs.
    expect(ok).toBeGreaterThanOrEqual(10)
    expect(ok).toBeLessThan(40)
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true)
    expect(refused?.json).toMatchObject({ error: 'rate_limited', message: expect.stringContaining('API key') })
    expect(Number(refused?.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    expect(refused?.headers['ratelimit-policy']).toBe('"per-key";q=10;w=2')
    expect(refused?.headers.ratelimit).toMatch(/^"per-key";r=0;t=\d+$/)
    // Another key of the organization has its own bucket, and the identity provider's SCIM
    // token takes from the SCIM surface's buckets, not the API's.
    expect((await burst(t, await key(t, t.orgId), 5)).statuses).toEqual([200, 200, 200, 200, 200])
    for (let i = 0; i < 5; i++) expect((await t.req('GET', '/Users?count=1')).status).toBe(200)
  })

  it('the organization\'s bucket counts every key of it; an operator key has its own bucket only', async () => {
    t = await startApp(factory, {}, { rateLimits: { tokenPerSecond: 100, orgPerSecond: 4, burstSeconds: 2 } })
    const keys = await Promise.all([key(t, t.orgId), key(t, t.orgId)])
    const statuses: number[] = []
    let refused = null
    for (let i = 0; i < 30; i++) {
      const r = await get(t, keys[i % 2] as string, `/api/v1/orgs/${t.orgId}/users?limit=1`)
      statuses.push(r.status)
      if (r.status === 429) refused ??= r
    }
    expect(statuses.filter((s) => s === 200).length).toBeLessThan(30)
    expect(refused?.headers['ratelimit-policy']).toBe('"per-organization";q=8;w=2')
    expect(refused?.json).toMatchObject({ error: 'rate_limited', message: expect.stringContaining('organization') })
    // SCIM's organization bucket is another: the identity provider is still served.
    expect((await t.req('GET', '/Users?count=1')).status).toBe(200)
    expect((await burst(t, await key(t, null), 10)).statuses.every((s) => s === 200)).toBe(true)
  })

  it('a console account past its bucket gets 429 rate_limited', async () => {
    t = await startApp(factory, {}, { rateLimits: LIMITS })
    await consoleAccount(t, 'admin@limits.example', 'admin')
    const session = await signIn(t, 'admin@limits.example')
    const statuses: number[] = []
    for (let i = 0; i < 40; i++) statuses.push((await consoleCall(t, 'GET', `/api/v1/orgs/${t.orgId}/users?limit=1`, { session })).status)
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(10)
    expect(statuses).toContain(429)
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true)
  })

  it('a write that cannot finish before its deadline is a 503 with Retry-After and writes nothing', async () => {
    t = await startApp(factory, {}, { requestDeadlineMs: 400 })
    const secret = await key(t, t.orgId)
    const created = await t.req('POST', '/Users', user('api-slow-write'))
    const id = String(created.json.id)
    // Another write holds what the change needs for longer than its deadline: on SQLite the group
    // committer, on PostgreSQL the user's row lock.
    const { release, holder, locked } = holdUser(t!, id)
    await locked
    const patched = t.app.inject({ method: 'PATCH', url: `/api/v1/orgs/${t.orgId}/users/${id}`, headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, payload: JSON.stringify({ metadata: { late: true } }) })
    const timer = setTimeout(release, 1_500)
    const r = await patched
    expect(r.statusCode, r.body).toBe(503)
    expect(r.headers['retry-after']).toBe('5')
    expect(JSON.parse(r.body)).toMatchObject({ error: 'unavailable' })
    await holder
    clearTimeout(timer)
    await new Promise((r2) => setTimeout(r2, 300))
    const after = await get(t, secret, `/api/v1/orgs/${t.orgId}/users/${id}`)
    expect(after.status).toBe(200)
    expect(after.json.metadata ?? {}).toEqual({})
    // The next change goes through.
    const next = await t.app.inject({ method: 'PATCH', url: `/api/v1/orgs/${t.orgId}/users/${id}`, headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, payload: JSON.stringify({ metadata: { onTime: true } }) })
    expect(next.statusCode, next.body).toBe(200)
    expect(JSON.parse(next.body).metadata).toEqual({ onTime: true })
  })

  it('a long-poll waits past the deadline: its wait is not work', async () => {
    t = await startApp(factory, {}, { requestDeadlineMs: 400 })
    const secret = await key(t, t.orgId)
    const r = await get(t, secret, `/api/v1/orgs/${t.orgId}/events?wait=1`)
    expect(r.status).toBe(200)
    expect(r.json.data).toEqual([])
  })
})

describe.each(storeMatrix().filter((f) => f.name === 'postgres'))('/api/v1 rate limits shared by two servers on $name', (factory) => {
  it('what one server let through for an API key is taken from the other server\'s bucket', async () => {
    // The clock stops once the first server starts spending: no bucket refills while the test
    // looks (on a loaded machine ten requests could take long enough to refill several).
    let stoppedAt: number | null = null
    const t = await startApp(factory, {}, { rateLimits: LIMITS, rateLimitSyncMs: 20, now: () => new Date(stoppedAt ?? Date.now()) })
    const second = await buildApp({ deps: t.deps, config: { publicUrl: 'https://roster.test', requestTimeoutMs: 20_000, logLevel: 'silent', rateLimits: LIMITS }, webhooks: false, rateLimitSyncMs: 20 })
    try {
      const secret = await key(t, t.orgId)
      const status = async (app: typeof second) => (await app.inject({ method: 'GET', url: `/api/v1/orgs/${t.orgId}/users?limit=1`, headers: { authorization: `Bearer ${secret}` } })).statusCode
      // The second server has seen the key once (its bucket exists), then the first spends the whole burst.
      expect(await status(second)).toBe(200)
      stoppedAt = Date.now()
      let first = 0
      while (first < 50 && (await status(t.app)) === 200) first++
      expect(first).toBeGreaterThanOrEqual(8)
      expect(first).toBeLessThan(50)
      // Both servers sync (a few intervals), then the second has only what the first left, not a fresh burst of 10.
      await new Promise((r) => setTimeout(r, 200))
      const statuses: number[] = []
      for (let i = 0; i < 10; i++) statuses.push(await status(second))
      expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(1)
    } finally {
      await second.close()
      await t.close()
    }
  })
})
