// Rate limits of the SCIM surface (docs/security.md, "Rate limits"): a token bucket per SCIM token
// and one per organization; past them a 429 SCIM error with Retry-After and the RateLimit /
// RateLimit-Policy fields (draft-ietf-httpapi-ratelimit-headers), another organization untouched;
// on PostgreSQL the servers share each bucket. Limits here are tiny so that a short loop meets them;
// the assertions count answers, never timings.
import { afterEach, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/http/app.ts'
import { startApp, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'

const LIMITS = { tokenPerSecond: 5, orgPerSecond: 50, burstSeconds: 2 }

async function burst(t: TestApp, n: number, token?: string): Promise<{ statuses: number[]; refused: Awaited<ReturnType<TestApp['req']>> | null }> {
  const statuses: number[] = []
  let refused = null
  for (let i = 0; i < n; i++) {
    const r = await t.req('GET', '/Users?count=1', undefined, token === undefined ? {} : { token })
    statuses.push(r.status)
    if (r.status === 429) refused ??= r
  }
  return { statuses, refused }
}

describe.each(storeMatrix())('rate limits on $name', (factory) => {
  let t: TestApp | null = null
  afterEach(async () => {
    await t?.close()
    t = null
  })

  it('a token past its bucket gets 429 with Retry-After, RateLimit and RateLimit-Policy and a SCIM error; another organization is served', async () => {
    t = await startApp(factory, {}, { rateLimits: LIMITS })
    const other = await t.newOrg('rate-other')
    const { statuses, refused } = await burst(t, 40)
    const ok = statuses.filter((s) => s === 200).length
    // A bucket of 10 (5 a second for 2 seconds), refilling while the loop runs.
    expect(ok).toBeGreaterThanOrEqual(10)
    expect(ok).toBeLessThan(40)
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true)
    expect(refused).not.toBeNull()
    const r = refused!
    expect(r.headers['content-type']).toContain('application/scim+json')
    expect(r.json).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '429' })
    expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    expect(r.headers['ratelimit-policy']).toBe('"per-token";q=10;w=2')
    expect(r.headers.ratelimit).toMatch(/^"per-token";r=0;t=\d+$/)
    // The other organization's token has its own buckets.
    const theirs = await burst(t, 5, other.token)
    expect(theirs.statuses).toEqual([200, 200, 200, 200, 200])
  })

  it('the organization\'s bucket counts every token of it', async () => {
    t = await startApp(factory, {}, { rateLimits: { tokenPerSecond: 100, orgPerSecond: 4, burstSeconds: 2 } })
    const { statuses, refused } = await burst(t, 30)
    expect(statuses.filter((s) => s === 200).length).toBeLessThan(30)
    expect(refused?.headers['ratelimit-policy']).toBe('"per-organization";q=8;w=2')
  })

  it('without limits configured nothing is refused', async () => {
    t = await startApp(factory, {}, { rateLimits: { tokenPerSecond: 0, orgPerSecond: 0, burstSeconds: 2 } })
    const { statuses } = await burst(t, 40)
    expect(statuses.every((s) => s === 200)).toBe(true)
  })
})

describe.each(storeMatrix().filter((f) => f.name === 'postgres'))('rate limits shared by two servers on $name', (factory) => {
  it('what one server let through is taken from the other server\'s bucket', async () => {
    // The clock stops once the first server starts spending: no bucket refills while the test
    // looks (on a loaded machine ten requests could take long enough to refill several).
    let stoppedAt: number | null = null
    const t = await startApp(factory, {}, { rateLimits: LIMITS, rateLimitSyncMs: 20, now: () => new Date(stoppedAt ?? Date.now()) })
    const second = await buildApp({ deps: t.deps, config: { publicUrl: 'https://roster.test', requestTimeoutMs: 20_000, logLevel: 'silent', rateLimits: LIMITS }, webhooks: false, rateLimitSyncMs: 20 })
    try {
      const get = async (app: typeof second) => (await app.inject({ method: 'GET', url: '/scim/v2/Users?count=1', headers: { authorization: `Bearer ${t.token}` } })).statusCode
      // The second server has seen the token once (its bucket exists), then the first spends the whole burst.
      expect(await get(second)).toBe(200)
      stoppedAt = Date.now()
      let first = 0
      while (first < 50 && (await get(t.app)) === 200) first++
      expect(first).toBeGreaterThanOrEqual(8)
      expect(first).toBeLessThan(50)
      // Both servers sync (a few intervals), then the second has only what the first left, not a fresh burst of 10.
      await new Promise((r) => setTimeout(r, 200))
      const statuses: number[] = []
      for (let i = 0; i < 10; i++) statuses.push(await get(second))
      expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(1)
    } finally {
      await second.close()
      await t.close()
    }
  })
})
