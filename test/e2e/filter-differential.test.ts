// Differential test of filter-to-SQL (store/kysely/filter-to-sql.ts) against the reference
// evaluator (scim/filter/evaluate.ts): random filters over adversarial users and groups, each
// answered by the real HTTP app on each store and by matchesFilter over the rendered resources.
// They must agree on the matching ids, and on a 400 invalidFilter where the evaluator refuses.
// The run prints its seed; FILTER_SEED=<n> replays it (FILTER_CASES=<n> changes the count).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ScimError } from '../../src/scim/errors.ts'
import { compileFilter } from '../../src/scim/filter/evaluate.ts'
import { parseFilter } from '../../src/scim/filter/parser.ts'
import { groupResource, userResource, type ResourceSchema } from '../../src/scim/schema/registry.ts'
import { prng, randomFilter, type AttrSpec, type Grammar } from '../helpers/filter-fuzz.ts'
import { startApp, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest'

const SEED = Number(process.env.FILTER_SEED ?? Math.floor(Math.random() * 2 ** 31))
const USER_CASES = Number(process.env.FILTER_CASES ?? 2_000)
const GROUP_CASES = Math.max(200, Math.floor(USER_CASES / 4))

// Values stored in attributes that PostgreSQL folds in SQL (everything but userName and the
// email index) avoid "İ" and a word-final "Σ": lower() under a libc locale maps them one code
// point at a time, unlike String.prototype.toLowerCase (see the PostgreSQL-only rows below).
const USER_NAMES = [
  'alice@example.com', 'ALICE.b@Example.com', 'Ａｌｉｃｅ．ｆｗ@example.com', 'émile@example.fr', 'EMILE@example.fr',
  'Émile.Upper@example.fr', 'zoë@example.com', 'zoe\u0308.nfd@example.com', '100%_off\\@example.com', 'under_score@example.com',
  'per%cent@example.com', 'back\\slash@example.com', 'quote"me@example.com', 'straße@example.de', 'strasse@example.de',
  'İstanbul@example.tr', 'ΟΔΥΣΣΕΥΣ@example.gr', 'x', 'X_', '%', '_', '\\', 'a b c', 'emoji😀@example.com', 'ﬀ@example.com',
  'ff2@example.com', 'ｚ', '\uE000private@example.com', '𝐁old@example.com', "o'brien@example.com",
]
const DISPLAY = ['Alice Smith', 'ALICE SMITH', '', undefined, 'Ｆｕｌｌ Ｗｉｄｔｈ', 'Émile Zola', '100% _real_ \\o/', 'ΣΟΦΙΑ papa', 'zoe\u0308', 'Zoë', '😀 smile', undefined, 'a%b', 'A_B']
const TITLES = ['Engineer', 'ENGINEER', 'engineer ', '', undefined, 'VP, Sales & Ops', '100%', '50_50', 'C:\\dir', 'Ｅｎｇｉｎｅｅｒ', 'Café', 'CAFÉ', 'cafe\u0301', '😀 lead', undefined, 'ﬀ']
const EXTERNAL = ['EXT-1', 'ext-1', '', undefined, 'Ｅｘｔ', 'a%b', 'a_b', 'a\\b', 'Ext-😀', undefined, 'z', 'Z', '\uE000x', '00042']
const ACTIVE = [true, false, undefined]
const NAMES = [
  { givenName: 'Ada', familyName: 'Lovelace' }, { givenName: '' }, undefined, { familyName: 'Ｌｏｖｅ' }, { givenName: 'ÉLODIE', familyName: 'du_pont%' },
  { givenName: 'ada', familyName: 'LOVELACE', middleName: 'x' }, { givenName: '', familyName: '' }, { familyName: '\\' }, { givenName: 'Zoë' },
]
const EMAILS: (Record<string, unknown>[] | undefined)[] = [
  undefined,
  [{ value: 'a@x.com', type: 'work', primary: true }],
  [{ value: 'A@X.com', type: 'work' }, { value: 'a@x.com', type: 'home' }],
  [{ type: 'work' }],
  [{ value: '', type: 'home' }],
  [{ value: '%_\\@x.com' }],
  [{ value: 'p@x.com', primary: false }, { value: 'q@x.com', type: 'Work', primary: true }],
  [{ value: 'r@x.com', type: '', display: 'R' }],
  [{ display: 'only display' }],
  [{ value: 'ｆｗ@x.com', type: 'ＷＯＲＫ' }, { value: 'emoji😀@x.com', type: 'other', primary: true }],
  [{ value: 'b@y.org', type: 'work' }, { value: 'c@y.org', type: 'home' }, { value: 'd@y.org' }],
  [{ value: '' }],
  [{ primary: false }],
]
const PHONES: (Record<string, unknown>[] | undefined)[] = [
  undefined, [{ value: '+1 555 0100', type: 'work' }], [{ value: '555%01_' }], [{ value: '' }], [{ type: 'mobile' }],
  [{ value: '+1 555 0100', type: 'Mobile', primary: true }, { value: '+44 20 7946', type: 'home' }], [{ value: 'Ｅｘｔ．１' }],
]
const ENTERPRISE: (Record<string, unknown> | undefined)[] = [
  undefined, { department: 'Eng', employeeNumber: '007', manager: { value: 'MGR-1' } }, { department: '' }, { manager: { value: '' } },
  { department: 'eng', employeeNumber: '7', manager: { value: 'mgr-1' } }, { employeeNumber: '10', department: 'R&D_%' },
  { department: 'Ｓａｌｅｓ', manager: { value: 'mgr-2' } }, { costCenter: 'only cost center' }, { department: 'Vente\\Marché', employeeNumber: '' },
]

function at<T>(xs: readonly T[], i: number): T {
  return xs[i % xs.length] as T
}

function seedUsers(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = []
  for (let i = 0; i < 60; i++) {
    const userName = USER_NAMES[i] ?? (i % 3 === 0 ? `User${i}@Example.COM` : i % 3 === 1 ? `user${i}@example.com` : `USER${i}_%@x`)
    const body: Record<string, unknown> = { schemas: [USER, ENT], userName }
    const set = (k: string, v: unknown) => {
      if (v !== undefined) body[k] = v
    }
    set('displayName', at(DISPLAY, i * 3))
    set('title', at(TITLES, i * 5 + 1))
    set('externalId', at(EXTERNAL, i * 7 + 2))
    set('active', at(ACTIVE, i))
    set('name', at(NAMES, i * 2 + 1))
    set('emails', at(EMAILS, i * 5))
    set('phoneNumbers', at(PHONES, i * 3 + 2))
    set(ENT, at(ENTERPRISE, i * 4 + 3))
    out.push(body)
  }
  return out
}

type Expected = { error: { status: number; scimType: string | null } } | { ids: string[] } | { total: number }

function expected(rs: ResourceSchema, filter: string, resources: readonly Record<string, unknown>[]): Expected {
  try {
    const test = compileFilter(rs, parseFilter(filter))
    return { ids: resources.filter(test).map((r) => String(r.id)).sort() }
  } catch (e) {
    if (e instanceof ScimError) return { error: { status: e.status, scimType: e.scimType } }
    throw e
  }
}

/** Strings found at `get` in the rendered resources, for literals. */
function poolOf(resources: readonly Record<string, unknown>[], get: (r: Record<string, unknown>) => unknown): string[] {
  const out = new Set<string>()
  const add = (v: unknown) => {
    if (typeof v === 'string') out.add(v)
    else if (Array.isArray(v)) v.forEach(add)
  }
  resources.forEach((r) => add(get(r)))
  return [...out]
}

const obj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {})
const list = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.map(obj) : [])

function userGrammar(users: readonly Record<string, unknown>[], groups: readonly Record<string, unknown>[]): Grammar {
  const p = (get: (r: Record<string, unknown>) => unknown) => poolOf(users, get)
  const sub = (attr: string, s: string) => p((r) => list(r[attr]).map((e) => e[s]))
  const ent = (s: string) => p((r) => obj(r[ENT])[s])
  const ids = p((r) => r.id)
  const attrs: AttrSpec[] = [
    { names: ['userName', 'USERNAME', `${USER}:userName`], kind: 'string', pool: p((r) => r.userName) },
    { names: ['displayName', 'displayname'], kind: 'string', pool: p((r) => r.displayName) },
    { names: ['title'], kind: 'string', pool: p((r) => r.title) },
    { names: ['externalId', 'EXTERNALID'], kind: 'string', pool: p((r) => r.externalId) },
    { names: ['id'], kind: 'string', pool: ids },
    { names: ['active', 'Active'], kind: 'boolean', pool: [] },
    { names: ['name.givenName', `${USER}:name.givenName`], kind: 'string', pool: p((r) => obj(r.name).givenName) },
    { names: ['name.familyName', 'NAME.FAMILYNAME'], kind: 'string', pool: p((r) => obj(r.name).familyName) },
    { names: ['name'], kind: 'complex', pool: [] },
    { names: ['emails', 'Emails'], kind: 'multi', pool: sub('emails', 'value') },
    { names: ['emails.value'], kind: 'string', pool: sub('emails', 'value') },
    { names: ['emails.type'], kind: 'string', pool: [...sub('emails', 'type'), 'work', 'home'] },
    { names: ['emails.display'], kind: 'string', pool: sub('emails', 'display') },
    { names: ['emails.primary'], kind: 'boolean', pool: [] },
    { names: ['phoneNumbers', 'phoneNumbers.value'], kind: 'string', pool: sub('phoneNumbers', 'value') },
    { names: ['phoneNumbers.type'], kind: 'string', pool: sub('phoneNumbers', 'type') },
    { names: [`${ENT}:department`, `${ENT.toUpperCase()}:department`], kind: 'string', pool: ent('department') },
    { names: [`${ENT}:employeeNumber`], kind: 'string', pool: ent('employeeNumber') },
    { names: [`${ENT}:manager.value`], kind: 'string', pool: [...p((r) => obj(obj(r[ENT]).manager).value), ...ids.slice(0, 3)] },
    { names: [`${ENT}:manager`], kind: 'complex', pool: [] },
    // Entra ID's spellings of the manager (issue 14): bare, and compared without `.value`.
    { names: ['manager', 'manager.value', `${ENT}:manager`], kind: 'string', pool: [...p((r) => obj(obj(r[ENT]).manager).value), ...ids.slice(0, 3)] },
    { names: ['meta.created', 'meta.lastModified'], kind: 'dateTime', pool: [] },
    { names: ['meta.resourceType'], kind: 'string', pool: ['User', 'Group'] },
    { names: ['groups', 'groups.value'], kind: 'string', pool: poolOf(groups, (g) => g.id) },
    { names: ['nickName'], kind: 'string', pool: [] },
  ]
  const created = p((r) => [obj(r.meta).created, obj(r.meta).lastModified])
  const dates = [
    ...created,
    ...created.map((d) => new Date(Date.parse(d) + 1).toISOString()),
    ...created.map((d) => new Date(Date.parse(d) - 1).toISOString()),
    // The same instant written with an offset, and with a seconds-only precision.
    ...created.slice(0, 5).map((d) => new Date(Date.parse(d) + 2 * 3600_000).toISOString().replace('Z', '+02:00')),
    ...created.slice(0, 5).map((d) => d.replace(/\.\d+Z$/, 'Z')),
    '2000-01-01T00:00:00Z', '2999-12-31T23:59:59Z', '1970-01-01', '+010000-01-01T00:00:00Z', '-000001-01-01T00:00:00Z',
  ]
  return {
    attrs,
    dates,
    invalid: ['department', 'name.nickname', 'password', 'emails.bogus', 'meta', 'name', 'emails.type.x'],
    valuePaths: [
      {
        name: 'emails',
        subs: [
          { name: 'value', kind: 'string', pool: sub('emails', 'value') },
          { name: 'type', kind: 'string', pool: [...sub('emails', 'type'), 'work'] },
          { name: 'primary', kind: 'boolean', pool: [] },
          { name: 'display', kind: 'string', pool: sub('emails', 'display') },
        ],
      },
      { name: 'phoneNumbers', subs: [{ name: 'value', kind: 'string', pool: sub('phoneNumbers', 'value') }, { name: 'type', kind: 'string', pool: sub('phoneNumbers', 'type') }] },
      { name: 'groups', subs: [{ name: 'value', kind: 'string', pool: poolOf(groups, (g) => g.id) }] },
    ],
  }
}

function groupGrammar(groups: readonly Record<string, unknown>[], users: readonly Record<string, unknown>[]): Grammar {
  const memberIds = [...poolOf(groups, (g) => list(g.members).map((m) => m.value)), ...poolOf(users, (u) => u.id).slice(0, 3)]
  return {
    attrs: [
      { names: ['displayName', 'DISPLAYNAME'], kind: 'string', pool: poolOf(groups, (g) => g.displayName) },
      { names: ['externalId'], kind: 'string', pool: poolOf(groups, (g) => g.externalId) },
      { names: ['id'], kind: 'string', pool: poolOf(groups, (g) => g.id) },
      { names: ['members', 'members.value', `${GROUP}:members.value`], kind: 'string', pool: memberIds },
      { names: ['members.type'], kind: 'string', pool: ['User', 'Group', 'user'] },
      { names: ['meta.created'], kind: 'dateTime', pool: [] },
    ],
    invalid: ['userName', 'members.bogus', 'members.value.x'],
    dates: [...poolOf(groups, (g) => obj(g.meta).created), '2000-01-01T00:00:00Z'],
    valuePaths: [{ name: 'members', subs: [{ name: 'value', kind: 'string', pool: memberIds }, { name: 'type', kind: 'string', pool: ['User', 'Group'] }] }],
  }
}

describe.each(storeMatrix())('filters agree with the reference evaluator on $name', (factory) => {
  let t: TestApp
  let users: Record<string, unknown>[] = []
  let groups: Record<string, unknown>[] = []

  beforeAll(async () => {
    t = await startApp(factory)
    const ids: string[] = []
    for (const body of seedUsers()) {
      const r = await t.req('POST', '/Users', body)
      expect(r.status, r.text).toBe(201)
      ids.push(String(r.json.id))
    }
    const groupSeeds: [string, string | undefined, number[]][] = [
      ['Engineering', 'ENG', [0, 1, 2, 3, 4, 5]], ['sales', 'eng', [5, 6, 7]], ['Ｓａｌｅｓ２', undefined, [8]], ['100% Club', '', [9, 10, 11, 12]],
      ['under_score', 'u_s', [13, 14]], ['Émigrés', 'Émigrés', [15, 16, 17, 18, 19, 20]], ['back\\slash', '\\', []], ['x', 'X', [21, 22, 23]],
      ['Empty', undefined, []],
    ]
    const groupIds: string[] = []
    for (const [displayName, externalId, members] of groupSeeds) {
      const r = await t.req('POST', '/Groups', { schemas: [GROUP], displayName, externalId, members: members.map((i) => ({ value: ids[i] })) })
      expect(r.status, r.text).toBe(201)
      groupIds.push(String(r.json.id))
    }
    // A group whose members include groups (type Group).
    const nested = await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Nested', members: [{ value: groupIds[0], type: 'Group' }, { value: groupIds[1], type: 'group' }, { value: ids[0] }] })
    expect(nested.status, nested.text).toBe(201)
    // A user's meta.version is its version and a digest of its groups (W/"1.k2f9", render.ts
    // tagOf); a filter on meta.version compares the version (docs/compatibility.md), so the
    // reference sees the version alone.
    users = ((await t.req('GET', '/Users?count=1000')).json.Resources ?? [])
      .map((u) => ({ ...u, meta: { ...obj(u.meta), version: String(obj(u.meta).version).replace(/\.[0-9a-z]+"$/, '"') } }))
    groups = (await t.req('GET', '/Groups?count=1000')).json.Resources ?? []
    expect(users).toHaveLength(60)
    expect(groups).toHaveLength(10)
  })
  afterAll(async () => t.close())

  type Via = 'get' | 'search' | 'count'

  /** The server's answer to `filter`: a page through GET or POST /.search, or a count (count=0). */
  async function actual(endpoint: '/Users' | '/Groups', filter: string, via: Via): Promise<Expected> {
    const r = via === 'search'
      ? await t.req('POST', `${endpoint}/.search`, { schemas: [SEARCH], filter, count: 1000, attributes: ['id'] })
      : await t.req('GET', `${endpoint}?filter=${encodeURIComponent(filter)}&count=${via === 'count' ? 0 : 1000}&attributes=id`)
    if (r.status !== 200) return { error: { status: r.status, scimType: (r.json.scimType as string | undefined) ?? null } }
    if (via === 'count') return { total: Number(r.json.totalResults) }
    return { ids: (r.json.Resources ?? []).map((x) => String(x.id)).sort() }
  }

  interface Mismatch { filter: string; expected: unknown; actual: unknown }
  let stats = { errors: 0, none: 0, some: 0, all: 0 }

  async function check(rs: ResourceSchema, filters: readonly string[]): Promise<Mismatch[]> {
    const resources = rs === userResource ? users : groups
    const endpoint = rs === userResource ? '/Users' : '/Groups'
    const label = (e: Expected) => ('error' in e ? e.error : 'total' in e ? e : e.ids.map((id) => String(resources.find((r) => r.id === id)?.[rs === userResource ? 'userName' : 'displayName'])))
    const out: Mismatch[] = []
    stats = { errors: 0, none: 0, some: 0, all: 0 }
    const BATCH = 8
    for (let i = 0; i < filters.length; i += BATCH) {
      await Promise.all(filters.slice(i, i + BATCH).map(async (filter, j) => {
        let want = expected(rs, filter, resources)
        if ('ids' in want) stats[want.ids.length === 0 ? 'none' : want.ids.length === resources.length ? 'all' : 'some']++
        else stats.errors++
        const via = (['get', 'search', 'count'] as const)[(i + j) % 3] ?? 'get'
        const got = await actual(endpoint, filter, via)
        if (via === 'count' && 'ids' in want) want = { total: want.ids.length }
        if (JSON.stringify(want) !== JSON.stringify(got)) out.push({ filter, expected: label(want), actual: label(got) })
      }))
    }
    return out
  }

  it(`${USER_CASES} random user filters (seed ${SEED})`, async () => {
    console.log(`[filter-differential] ${factory.name}: FILTER_SEED=${SEED}`)
    const rng = prng(SEED)
    const g = userGrammar(users, groups)
    const filters = Array.from({ length: USER_CASES }, () => randomFilter(rng, g))
    const bad = await check(userResource, filters)
    expect(bad.slice(0, 15), `FILTER_SEED=${SEED}: ${bad.length} of ${filters.length} disagree`).toEqual([])
    // The grammar mostly asks questions whose answer splits the users.
    expect(stats.some, JSON.stringify(stats)).toBeGreaterThan(filters.length * 0.3)
    expect(stats.errors, JSON.stringify(stats)).toBeLessThan(filters.length * 0.3)
  }, 120_000)

  it(`${GROUP_CASES} random group filters (seed ${SEED})`, async () => {
    const rng = prng(SEED ^ 0x5eed)
    const g = groupGrammar(groups, users)
    const filters = Array.from({ length: GROUP_CASES }, () => randomFilter(rng, g))
    const bad = await check(groupResource, filters)
    expect(bad.slice(0, 15), `FILTER_SEED=${SEED}: ${bad.length} of ${filters.length} disagree`).toEqual([])
    expect(stats.some, JSON.stringify(stats)).toBeGreaterThan(filters.length * 0.2)
  }, 60_000)

  // Cases that once disagreed, or that probe one rule each; each is asked as a page through GET,
  // through POST /.search, and as a count.
  it.each([
    'emails.type eq null',
    'emails.type ne null',
    'not (emails.type eq null)',
    'emails eq null',
    'emails ne null',
    'emails pr',
    'not (emails pr)',
    'emails[type eq "work"]',
    'emails[type eq "work" and value co "x"]',
    'emails[value eq "a@x.com" and type eq "home"]',
    'emails[value eq "A@X.COM" and not (type eq "work")]',
    'emails[primary eq false]',
    'emails.primary eq false',
    'emails[not (value eq "a@x.com")]',
    'emails.value eq ""',
    'emails.value lt "b"',
    'emails.value ge ""',
    'emails[value pr and primary eq true]',
    'emails[display pr]',
    'emails.display co "only"',
    'name eq null',
    'name ne null',
    'name pr',
    'not (name pr)',
    'name.givenName pr',
    'name eq "Ada"',
    `${ENT}:manager pr`,
    `${ENT}:manager eq null`,
    `${ENT}:manager.value eq "mgr-1"`,
    `${ENT}:manager eq "mgr-1"`,
    'manager eq "MGR-1"',
    'manager.value ne "mgr-1"',
    'manager co "mgr"',
    'manager pr',
    'manager eq null',
    'not (manager gt "mgr-1")',
    `not (${ENT}:department pr)`,
    `${ENT}:employeeNumber gt "10"`,
    'phoneNumbers pr',
    'not (phoneNumbers pr)',
    'phoneNumbers[type eq "mobile"]',
    'phoneNumbers.value co "%"',
    'active eq true',
    'active ne true',
    'active pr',
    'not (active eq false)',
    'active gt true',
    'active eq "true"',
    'userName sw "%"',
    'userName sw "_"',
    'userName sw "\\\\"',
    'userName co "\\""',
    'userName eq "ＡＬＩＣＥ@EXAMPLE.COM"',
    'userName eq "zoë.nfd@example.com"',
    'userName sw "İ"',
    'userName eq "i̇stanbul@example.tr"',
    'userName ew "ΣΣΕΥΣ@EXAMPLE.GR"',
    'userName gt "z" and userName lt "zz"',
    'userName sw "\udbff\udfff"',
    'userName eq "\\u0000"',
    'userName gt "a\\u0000"',
    'title co "\\u0000"',
    'userName eq "\\ud800"',
    'title sw "\\udc00"',
    'title eq "café"',
    'title co ""',
    'title eq ""',
    'externalId eq ""',
    'externalId pr',
    'externalId eq "ext-1"',
    'displayName co "%"',
    'displayName eq null',
    'meta.created gt "2000-01-01T00:00:00Z"',
    'meta.created lt "+010000-01-01T00:00:00Z"',
    'meta.created gt "-000001-01-01T00:00:00Z"',
    'meta.created eq "+010000-01-01T00:00:00Z"',
    'meta.created co "2"',
    'meta.created gt "yesterday"',
    'meta.resourceType eq "User"',
    'meta.resourceType sw "u"',
    'meta.version pr',
    'meta.version eq "W/\\"1\\""',
    'meta pr',
    'meta eq null',
    'groups pr',
    'not (groups pr)',
    'groups eq null',
    'nickName ne "x"',
    'userName eq null or userName ne null',
    'department eq "Eng"',
    'password pr',
    'emails[value eq "x" or type.sub eq "y"]',
  ])('user filter %s', async (filter) => {
    expect(await check(userResource, [filter, filter, filter])).toEqual([])
  })

  it.each([
    'members pr',
    'not (members pr)',
    'members eq null',
    'members[type eq "group"]',
    'members.type eq "USER"',
    'members[value pr and not (type eq "User")]',
    'displayName eq "ＳＡＬＥＳ２"',
    'displayName sw "100%"',
    'externalId eq "eng"',
    'externalId eq ""',
  ])('group filter %s', async (filter) => {
    expect(await check(groupResource, [filter, filter, filter])).toEqual([])
  })

  // Known disagreement, left to the evaluator's owner: these are rendered from the URL the
  // server is reached at (meta.location, $ref) or from other rows (a member's display), which
  // the store's SQL cannot see, so the server refuses them while evaluate.ts accepts them.
  it.each([
    [userResource, 'meta.location pr'],
    [userResource, 'groups.display eq "sales"'],
    [userResource, 'groups[type eq "direct"]'],
    [userResource, 'groups.$ref pr'],
    [groupResource, 'members.display pr'],
    [groupResource, 'members.$ref co "Users"'],
  ] as const)('%#: the server refuses %s with 400 invalidFilter', async (rs, filter) => {
    expect(expected(rs, filter, rs === userResource ? users : groups)).toHaveProperty('ids')
    expect(await actual(rs === userResource ? '/Users' : '/Groups', filter, 'get')).toEqual({ error: { status: 400, scimType: 'invalidFilter' } })
  })
})
