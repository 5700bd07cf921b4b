// Deep nesting through the real HTTP server (docs/architecture.md INP-2): `(`, `not (` and
// `emails[…]` nested 10, 100, 1,000 and 10,000 deep in a filter (GET ?filter= and POST
// /.search) and in a PATCH path. Beyond the documented depth (32, scim/filter/ast.ts) the answer
// is 400 invalidFilter, found by the parser's pre-scan before it recurses; a filter past the
// length limit (16,384) is refused for its length (a PATCH path so long is invalidPath, RFC 7644
// §3.5.2); in a URL, 10,000 levels are past Node's header limit
// (16 KiB) and answered 431 before any route runs. The process stays up and its log never shows
// a stack overflow. CVE-2026-46689 (kanidm scim_proto); AzureAD/SCIMReferenceCode #138.
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_FILTER_DEPTH, MAX_FILTER_LENGTH } from '../../src/scim/filter/ast.ts'
import { startApp, user, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'
import { listening } from '../helpers/typed-client.ts'
import { call, type Call } from '../helpers/spawned-server.ts'

const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest'
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
const NAME = 'deep.nesting@example.com'
const DEPTHS = [10, 100, 1_000, 10_000]

/** A filter nested `n` deep in each shape; `emails[` inside `emails[` is never valid SCIM. */
const SHAPES = {
  '(': (n: number) => `${'('.repeat(n)}userName eq "${NAME}"${')'.repeat(n)}`,
  'not (': (n: number) => `${'not ('.repeat(n)}userName eq "${NAME}"${')'.repeat(n)}`,
  'emails[': (n: number) => `${'emails['.repeat(n)}value eq "${NAME}"${']'.repeat(n)}`,
}
type Shape = keyof typeof SHAPES

describe.each(storeMatrix())('filters and PATCH paths nested deep, over HTTP, on $name', (factory) => {
  let t: TestApp
  let base = ''
  let id = ''
  const logs: string[] = []
  const statuses: number[] = []

  beforeAll(async () => {
    t = await startApp(factory, {}, { logStream: new Writable({ write(chunk, _enc, done) { logs.push(String(chunk)); done() } }) })
    base = `${await listening(t)}/scim/v2`
    id = String((await t.req('POST', '/Users', user(NAME))).json.id)
  })
  afterAll(async () => t.close())

  async function send(method: string, path: string, body?: unknown): Promise<Call> {
    const r = await call(base, method, path, t.token, body)
    statuses.push(r.status)
    return r
  }

  /** What a filter `n` deep in `shape` answers when it is short enough to be read. */
  function expected(shape: Shape, n: number): { status: 200; total: number } | { status: 400; detail: RegExp } {
    if (SHAPES[shape](n).length > MAX_FILTER_LENGTH) return { status: 400, detail: /characters long; at most 16384 are accepted/ }
    if (n > MAX_FILTER_DEPTH) return { status: 400, detail: /nests deeper than 32 levels/ }
    if (shape === 'emails[') return { status: 400, detail: /a value filter cannot contain another/ }
    // An even number of `not`s is the filter itself.
    return { status: 200, total: shape === 'not (' && n % 2 === 1 ? 0 : 1 }
  }

  for (const shape of Object.keys(SHAPES) as Shape[]) {
    it.each(DEPTHS)(`\`${shape}\` %i deep in GET ?filter= and POST /.search`, async (n) => {
      const filter = SHAPES[shape](n)
      const want = expected(shape, n)
      const searched = await send('POST', '/Users/.search', { schemas: [SEARCH], filter })
      const got = await send('GET', `/Users?filter=${encodeURIComponent(filter)}`)
      for (const r of n === 10_000 ? [searched] : [searched, got]) {
        expect(r.status).toBe(want.status)
        if (want.status === 200) expect(r.json.totalResults).toBe(want.total)
        else {
          expect(r.json.scimType).toBe('invalidFilter')
          expect(String(r.json.detail)).toMatch(want.detail)
        }
      }
      // 10,000 levels in a URL are 30 KiB or more: past the HTTP parser's header limit.
      if (n === 10_000) expect(got.status).toBe(431)
    })

    it.each(DEPTHS)(`\`${shape}\` %i deep in a PATCH path is 400 invalidFilter (invalidPath past its length) and changes nothing`, async (n) => {
      const path = shape === 'emails[' ? `${'emails['.repeat(n)}type eq "work"${']'.repeat(n)}.display` : `emails[${SHAPES[shape](n)}].display`
      const r = await send('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path, value: 'x' }] })
      expect(r.status).toBe(400)
      // A filter wrapped in the path's own `emails[…]` is one level deeper than itself.
      const depth = shape === 'emails[' ? n : n + 1
      expect(r.json.scimType).toBe(path.length > MAX_FILTER_LENGTH ? 'invalidPath' : 'invalidFilter')
      expect(String(r.json.detail)).toMatch(path.length > MAX_FILTER_LENGTH ? /Path is \d+ characters long/ : depth > MAX_FILTER_DEPTH ? /Path nests deeper than 32 levels/ : shape === 'emails[' ? /a value filter cannot contain another/ : /Unknown sub-attribute "userName" of "emails"/)
    })
  }

  it('refuses the deepest filter the length limit lets through (8,000 levels) by its depth', async () => {
    const r = await send('POST', '/Users/.search', { schemas: [SEARCH], filter: `${'('.repeat(8_000)}userName eq "${NAME}"${')'.repeat(8_000)}` })
    expect(r.status).toBe(400)
    expect(r.json).toMatchObject({ scimType: 'invalidFilter', detail: 'Filter nests deeper than 32 levels at position 32' })
  })

  it('stays up: the user is unchanged, nothing was a 5xx, and the log shows no stack overflow', async () => {
    const r = await send('GET', `/Users/${id}`)
    expect(r.status).toBe(200)
    expect(r.json.meta).toMatchObject({ version: 'W/"1"' })
    expect(statuses.length).toBeGreaterThan(30)
    expect(statuses.filter((s) => s >= 500)).toEqual([])
    expect(logs.length).toBeGreaterThan(0)
    expect(logs.join('')).not.toMatch(/Maximum call stack|RangeError/)
  })
})
