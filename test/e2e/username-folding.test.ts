// userName uniqueness under the one documented folding (src/scim/fold.ts: NFKC, then lower case),
// through the real HTTP server on each store. RFC 7644 §3.3 asks a create whose unique attribute
// is taken to fail with 409 `uniqueness`, and §3.5.1 / §3.5.2 the same of a replace or patch;
// userName is caseExact false with uniqueness "server" (RFC 7643 §4.1.1), and RFC 7644 §5 and
// §7.8 ask that it be prepared with PRECIS (RFC 7613, obsoleted by RFC 8265, UsernameCaseMapped):
// full-width letters map to their ASCII forms, composed and decomposed accents are one string,
// case is mapped. Case mapping is not case folding: `ß` lower-cases to itself, so `straße` and
// `strasse` are two names, as PRECIS keeps them (RFC 8265 §3.3.1 maps with Unicode toLowerCase).
// Each store's answers are recorded without ids, and the two stores must have answered alike.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { patchOp, startApp, user, type Res, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'

const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error'

/** Each store's answers, in order, as [what was sent, status, scimType, detail with ids taken out]. */
const transcripts = new Map<string, unknown[][]>()
const stores = storeMatrix()

// The pairs: a name stored first, then another spelling of it that the folding makes the same.
const NFC = 'jos\u00e9@example.com'
const NFD = 'jose\u0301@example.com'
const SAME: readonly { readonly label: string; readonly first: string; readonly second: string }[] = [
  { label: 'full-width local part', first: 'alice@example.com', second: '\uff41\uff4c\uff49\uff43\uff45@example.com' },
  { label: 'full-width everything, upper case', first: 'bob@example.com', second: '\uff22\uff2f\uff22\uff20\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45\uff0e\uff43\uff4f\uff4d' },
  { label: 'NFD after NFC', first: NFC, second: NFD },
  { label: 'NFC after NFD', first: 'rene\u0301@example.com', second: 'ren\u00e9@example.com' },
  { label: 'case', first: 'Carol@example.com', second: 'carol@EXAMPLE.COM' },
  { label: 'capital sharp s', first: 'stra\u00dfe@example.com', second: 'STRA\u1e9eE@example.com' },
]

describe.each(stores)('userName folding on $name', (factory) => {
  let t: TestApp
  const transcript: unknown[][] = []
  beforeAll(async () => {
    t = await startApp(factory)
    transcripts.set(factory.name, transcript)
  })
  afterAll(async () => t.close())

  const ids = new Set<string>()
  const record = (what: string, r: Res): Res => {
    let detail = typeof r.json.detail === 'string' ? r.json.detail : null
    for (const id of ids) detail = detail?.replaceAll(id, '<id>') ?? null
    transcript.push([what, r.status, r.json.scimType ?? null, detail])
    return r
  }
  const create = async (userName: string): Promise<string> => {
    const r = record(`POST ${userName}`, await t.req('POST', '/Users', user(userName, { emails: [] })))
    expect(r.status, r.text).toBe(201)
    const id = String(r.json.id)
    ids.add(id)
    return id
  }
  const find = async (userName: string): Promise<string[]> => {
    const r = await t.req('GET', `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`)
    expect(r.status, r.text).toBe(200)
    const found = (r.json.Resources ?? []).map((u) => String(u.id))
    transcript.push([`filter ${userName}`, r.status, found.length])
    return found
  }
  const expectTaken = (r: Res, userName: string, holder: string) => {
    expect(r.status, r.text).toBe(409)
    expect(r.json).toEqual({ schemas: [ERROR], status: '409', scimType: 'uniqueness', detail: `userName "${userName}" is already taken by User ${holder}` })
  }

  it.each(SAME)('a create of another spelling under the folding is 409 uniqueness naming the holder ($label); the filter finds the user by each', async ({ first, second }) => {
    const holder = await create(first)
    expectTaken(record(`POST ${second}`, await t.req('POST', '/Users', user(second, { emails: [] }))), second, holder)
    expect(await find(first)).toEqual([holder])
    expect(await find(second)).toEqual([holder])
    // The holder is as it was stored: the refused spelling did not replace it.
    const got = await t.req('GET', `/Users/${holder}`)
    expect(got.json.userName).toBe(first)
    expect(got.json.meta).toMatchObject({ version: 'W/"1"' })
  })

  it('ß and ss stay two names (201 each), and each filter finds its own', async () => {
    const sharp = await create('gro\u00df@example.com')
    const ss = await create('gross@example.com')
    expect(ss).not.toBe(sharp)
    expect(await find('gro\u00df@example.com')).toEqual([sharp])
    expect(await find('GROSS@example.com')).toEqual([ss])
    // The capital sharp s lower-cases to ß, so it is the first one's name, not the second's.
    expect(await find('GRO\u1e9e@example.com')).toEqual([sharp])
  })

  it('PUT and PATCH renaming a user onto another spelling of a taken name are 409 uniqueness, and nothing changes', async () => {
    const holder = await create('dana@example.com')
    const other = await create('erin@example.com')
    const before = await t.req('GET', `/Users/${other}`)
    const fullWidth = '\uff44\uff41\uff4e\uff41@example.com'
    expectTaken(record('PUT full-width', await t.req('PUT', `/Users/${other}`, user(fullWidth, { emails: [] }))), fullWidth, holder)
    expectTaken(record('PATCH path userName', await t.req('PATCH', `/Users/${other}`, patchOp({ op: 'replace', path: 'userName', value: 'DANA@example.com' }))), 'DANA@example.com', holder)
    // Entra ID's path-less Replace with a value object, the name decomposed where it can be.
    const nfdHolder = await create(NFC.replace('jos', 'fran'))
    const nfd = NFD.replace('jos', 'fran')
    expectTaken(record('PATCH path-less', await t.req('PATCH', `/Users/${other}`, patchOp({ op: 'Replace', value: { userName: nfd } }))), nfd, nfdHolder)
    const after = await t.req('GET', `/Users/${other}`)
    expect(after.headers.etag).toBe(before.headers.etag)
    expect(after.json).toEqual(before.json)
    // Renaming a user onto another spelling of its own name is a rename, not a conflict.
    const own = record('PATCH own name', await t.req('PATCH', `/Users/${other}`, patchOp({ op: 'replace', path: 'userName', value: '\uff25RIN@example.com' })))
    expect(own.status, own.text).toBe(200)
    expect(own.json.userName).toBe('\uff25RIN@example.com')
    expect(await find('erin@example.com')).toEqual([other])
  })
})

describe.runIf(stores.length > 1)('userName folding on both stores', () => {
  it('SQLite and PostgreSQL gave the same answers', () => {
    const [a, b] = [...transcripts.values()]
    expect(a?.length).toBeGreaterThan(20)
    expect(b).toEqual(a)
  })
})
