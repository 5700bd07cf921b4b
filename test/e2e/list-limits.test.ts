// Costly list parameters through the real HTTP server (docs/architecture.md INP-4): `count` is
// clamped to the `maxResults` that ServiceProviderConfig advertises (RFC 7644 §3.4.2.4, §5:
// "maxResults ... the maximum number of resources returned in a response"), on GET and on
// POST /.search, for Users, Groups and the root search; a negative `count` reads as 0 and a
// `startIndex` below 1 as 1 (§3.4.2.4); a `startIndex` far past the end (10^12, 2^53 − 1) is an
// empty page of the right total; a number past what is exact in JavaScript is 400 invalidValue,
// never a 500 or a silently rounded page. A filter of as many comparisons as the parser takes
// (MAX_FILTER_TERMS, 1,000) in one `or`, one `and` or one value filter is answered (SQLite
// refused such a chain as an expression tree deeper than 1,000: it was a 500). The full-size run (100,000 users, costly filters
// against another organization's lookups) is `npm run costly` (docs/reliability.md).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_FILTER_TERMS } from '../../src/scim/filter/ast.ts'
import { startApp, user, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'
import { listening } from '../helpers/typed-client.ts'
import { call } from '../helpers/spawned-server.ts'

const MAX = 5
const USERS = 8
const GROUPS = 7
const TITLED = 2
const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest'
const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse'

interface Page { status: number; json: { totalResults?: number; itemsPerPage?: number; startIndex?: number; Resources?: unknown[]; scimType?: string; schemas?: string[] } }

describe.each(storeMatrix())('list parameters past their limits, over HTTP, on $name', (factory) => {
  let t: TestApp
  let base = ''

  beforeAll(async () => {
    t = await startApp(factory, { maxResults: MAX })
    base = `${await listening(t)}/scim/v2`
    // Two of them have a title, for the filters of 1,000 comparisons.
    for (let i = 0; i < USERS; i++) expect((await t.req('POST', '/Users', user(`limits.${i}@example.com`, i < TITLED ? { title: `Title ${i}` } : {}))).status).toBe(201)
    for (let i = 0; i < GROUPS; i++) expect((await t.req('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: `Limits ${i}` })).status).toBe(201)
  })
  afterAll(async () => t.close())

  async function send(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Page> {
    const r = await call(base, method, path, t.token, body)
    return { status: r.status, json: r.json as Page['json'] }
  }
  const search = (path: string, params: Record<string, unknown>) => send('POST', path, { schemas: [SEARCH], ...params })

  it('ServiceProviderConfig advertises the maximum that lists keep to', async () => {
    const r = await send('GET', '/ServiceProviderConfig')
    expect(r.status).toBe(200)
    expect((r.json as { filter?: { maxResults?: number } }).filter?.maxResults).toBe(MAX)
  })

  it.each([
    ['GET /Users?count=10^9', () => send('GET', '/Users?count=1000000000'), USERS],
    ['GET /Users without count', () => send('GET', '/Users'), USERS],
    ['GET /Users?count=10^9 with a filter', () => send('GET', `/Users?count=1000000000&filter=${encodeURIComponent('userName sw "limits."')}`), USERS],
    ['GET /Users?count=10^9 sorted', () => send('GET', '/Users?count=1000000000&sortBy=userName&sortOrder=descending'), USERS],
    ['POST /Users/.search count 10^9', () => search('/Users/.search', { count: 1_000_000_000 }), USERS],
    ['GET /Groups?count=10^9', () => send('GET', '/Groups?count=1000000000'), GROUPS],
    ['POST /Groups/.search count 10^9', () => search('/Groups/.search', { count: 1_000_000_000 }), GROUPS],
    ['POST /.search count 10^9', () => search('/.search', { count: 1_000_000_000 }), USERS + GROUPS],
  ] as const)('%s: a page of at most maxResults, and the whole total', async (_name, ask, total) => {
    const r = await ask()
    expect(r.status).toBe(200)
    expect(r.json.schemas).toEqual([LIST])
    expect(r.json.totalResults).toBe(total)
    expect(r.json.itemsPerPage).toBe(MAX)
    expect(r.json.Resources).toHaveLength(MAX)
  })

  it('pages clamped to maxResults still cover every user once', async () => {
    const seen: string[] = []
    for (let start = 1; start <= USERS; start += MAX) {
      const r = await send('GET', `/Users?count=1000000000&startIndex=${start}`)
      expect(r.json.startIndex).toBe(start)
      seen.push(...(r.json.Resources ?? []).map((u) => String((u as { id: string }).id)))
    }
    expect(seen).toHaveLength(USERS)
    expect(new Set(seen).size).toBe(USERS)
  })

  it('a negative count reads as 0 and a startIndex below 1 as 1 (RFC 7644 §3.4.2.4)', async () => {
    for (const r of [await send('GET', '/Users?count=-5'), await search('/Users/.search', { count: -5 })]) {
      expect(r.status).toBe(200)
      expect(r.json).toMatchObject({ totalResults: USERS, itemsPerPage: 0 })
      expect(r.json.Resources ?? []).toHaveLength(0)
    }
    for (const start of ['0', '-7']) {
      const r = await send('GET', `/Users?startIndex=${start}&count=2`)
      expect(r.status).toBe(200)
      expect(r.json).toMatchObject({ totalResults: USERS, itemsPerPage: 2, startIndex: 1 })
    }
  })

  it.each([1_000_000_000_000, Number.MAX_SAFE_INTEGER])('startIndex %d is an empty page of the whole total, filtered or not', async (start) => {
    for (const r of [
      await send('GET', `/Users?startIndex=${start}&count=1000000000`),
      await send('GET', `/Users?startIndex=${start}&filter=${encodeURIComponent('userName sw "limits."')}`),
      await send('GET', `/Users?startIndex=${start}&sortBy=userName`),
      await search('/.search', { startIndex: start, count: 3 }),
    ]) {
      expect(r.status).toBe(200)
      expect(r.json.itemsPerPage).toBe(0)
      expect(r.json.Resources ?? []).toHaveLength(0)
      expect(r.json.totalResults).toBeGreaterThanOrEqual(USERS)
    }
  })

  /** `term` MAX_FILTER_TERMS times, joined by `op`: one chain as long as a filter may be. */
  const chainOf = (term: (i: number) => string, op: 'and' | 'or', n = MAX_FILTER_TERMS) => Array.from({ length: n }, (_, i) => term(i)).join(` ${op} `)
  const CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789'

  it.each([
    ['an or of co', chainOf((i) => `title co "${CHARS[i % CHARS.length]}"`, 'or'), TITLED],
    ['an and of pr', chainOf(() => 'title pr', 'and'), TITLED],
    ['an or of eq on id (an indexed column)', chainOf((i) => `id eq "${CHARS[i % CHARS.length]}"`, 'or'), 0],
    ['a value filter holding an or', `emails[${chainOf((i) => `type sw "${CHARS[i % CHARS.length]}"`, 'or')}]`, USERS],
    ['an and of ors', chainOf((i) => `(title pr or title co "${CHARS[i % CHARS.length]}")`, 'and', MAX_FILTER_TERMS / 2), TITLED],
  ])('a filter of %s, 1,000 comparisons, is answered on GET and on POST /.search', async (_name, filter, total) => {
    expect(filter.length).toBeLessThanOrEqual(16_384)
    for (const r of [await search('/Users/.search', { filter }), await search('/.search', { filter, count: 1 })]) {
      expect(r.status, JSON.stringify(r.json)).toBe(200)
      expect(r.json.totalResults).toBe(total)
    }
    // On a URL only where it fits Node's header limit once escaped.
    const path = `/Users?filter=${encodeURIComponent(filter)}`
    if (path.length < 15_000) expect((await send('GET', path)).json.totalResults).toBe(total)
  })

  it('one comparison more than the parser takes is 400 invalidFilter', async () => {
    const r = await search('/Users/.search', { filter: chainOf(() => 'title pr', 'or', MAX_FILTER_TERMS + 1) })
    expect(r.status).toBe(400)
    expect(r.json.scimType).toBe('invalidFilter')
  })

  it.each([
    ['count', '/Users?count=99999999999999999999'],
    ['startIndex', '/Users?startIndex=99999999999999999999'],
    ['count', '/Users?count=1e9'],
    ['startIndex', '/Users?startIndex=12.5'],
  ])('%s that is not an exact integer (%s) is 400 invalidValue', async (name, path) => {
    const r = await send('GET', path)
    expect(r.status).toBe(400)
    expect(r.json.scimType).toBe('invalidValue')
    expect(JSON.stringify(r.json)).toContain(name)
  })

  it('the same numbers in a search body are 400 invalidValue; an integer sent as a string is read as one', async () => {
    for (const body of [{ count: 1e20 }, { startIndex: 2 ** 60 }, { count: 2.5 }]) {
      const r = await search('/Users/.search', body)
      expect(r.status, JSON.stringify(body)).toBe(400)
      expect(r.json.scimType).toBe('invalidValue')
    }
    const lenient = await search('/Users/.search', { count: '1000000000' })
    expect(lenient.status).toBe(200)
    expect(lenient.json.itemsPerPage).toBe(MAX)
  })
})
